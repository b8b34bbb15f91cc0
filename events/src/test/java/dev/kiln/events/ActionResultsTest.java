package dev.kiln.events;

import static org.assertj.core.api.Assertions.assertThat;

import java.util.List;
import org.junit.jupiter.api.Test;

class ActionResultsTest {
  private static final Digest A = Digest.of("a".repeat(64));
  private static final Digest B = Digest.of("b".repeat(64));

  @Test
  void aFragmentNamesItsBlobAndReadsBack() throws Exception {
    ActionResults.WheelFragment fragment =
        new ActionResults.WheelFragment(
            A,
            "flask-3.0.3-py3-none-any.whl",
            "Flask",
            "3.0.3",
            B,
            10,
            List.of("flask"),
            List.of("flask"));

    String json = EventCodec.mapper().writeValueAsString(fragment);

    assertThat(EventCodec.mapper().readTree(json).path("blobs").get(0).asText())
        .isEqualTo(B.toString());
    assertThat(EventCodec.mapper().readValue(json, ActionResults.WheelFragment.class))
        .isEqualTo(fragment);
  }

  @Test
  void aBuiltWheelAndAResolutionReadBack() throws Exception {
    ActionResults.BuiltWheel built =
        new ActionResults.BuiltWheel(A, "only-1.0.tar.gz", B, "only-1.0-py3-none-any.whl", 5);
    ActionResults.Resolution resolution =
        new ActionResults.Resolution(
            List.of(new DependencyLayer.Distribution("flask", "3.0.3", "flask.whl", A, null)),
            List.of(new DependencyLayer.LocalProject(".", true)));

    assertThat(
            EventCodec.mapper()
                .readValue(
                    EventCodec.mapper().writeValueAsString(built), ActionResults.BuiltWheel.class))
        .isEqualTo(built);
    String json = EventCodec.mapper().writeValueAsString(resolution);
    assertThat(json).contains("\"blobs\":[]");
    assertThat(EventCodec.mapper().readValue(json, ActionResults.Resolution.class))
        .isEqualTo(resolution);
  }

  @Test
  void aLayerWithItsResolvedSetReadsBack() throws Exception {
    DependencyLayer layer =
        new DependencyLayer(
            "k",
            A,
            3,
            List.of("flask==3.0.3"),
            false,
            B,
            List.of(new DependencyLayer.Distribution("flask", "3.0.3", "flask.whl", A, B)),
            List.of(new DependencyLayer.LocalProject(".", false)));
    String json = EventCodec.mapper().writeValueAsString(layer);
    assertThat(EventCodec.mapper().readValue(json, DependencyLayer.class)).isEqualTo(layer);
    assertThat(
            EventCodec.mapper()
                .readValue(
                    "{\"key\":\"k\",\"blob\":\"" + A + "\",\"size\":3,\"reused\":false}",
                    DependencyLayer.class)
                .resolved())
        .isEmpty();
  }
}
