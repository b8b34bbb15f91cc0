package dev.kiln.cache;

import static org.assertj.core.api.Assertions.assertThat;
import static org.assertj.core.api.Assertions.assertThatThrownBy;

import dev.kiln.events.Digest;
import io.vertx.core.json.JsonObject;
import java.net.URI;
import java.util.List;
import org.junit.jupiter.api.Test;

class SimpleIndexFormatTest {
  private static final String PIP_ACCEPT =
      "application/vnd.pypi.simple.v1+json, "
          + "application/vnd.pypi.simple.v1+html; q=0.1, text/html; q=0.01";

  @Test
  void negotiatesTheFormTheClientPrefers() {
    assertThat(SimpleIndexFormat.negotiate(PIP_ACCEPT)).isEqualTo(SimpleIndexFormat.JSON_V1);
    assertThat(SimpleIndexFormat.negotiate(null)).isEqualTo(SimpleIndexFormat.HTML);
    assertThat(SimpleIndexFormat.negotiate("*/*")).isEqualTo(SimpleIndexFormat.HTML);
    assertThat(SimpleIndexFormat.negotiate("text/html")).isEqualTo(SimpleIndexFormat.HTML);
    assertThat(
            SimpleIndexFormat.negotiate(
                "application/vnd.pypi.simple.v1+json;q=0.2, application/vnd.pypi.simple.v1+html"))
        .isEqualTo(SimpleIndexFormat.HTML_V1);
    assertThat(SimpleIndexFormat.negotiate("application/vnd.pypi.simple.latest+json"))
        .isEqualTo(SimpleIndexFormat.JSON_V1);
  }

  @Test
  void refusesWhenNothingAcceptableIsOffered() {
    assertThatThrownBy(() -> SimpleIndexFormat.negotiate("application/xml"))
        .isInstanceOf(CacheError.class)
        .hasMessageContaining("application/vnd.pypi.simple.v1+json")
        .satisfies(error -> assertThat(((CacheError) error).httpStatus()).isEqualTo(406));
  }

  @Test
  void jsonPageFollowsPep691() {
    Digest sha = Digest.ofHex("b".repeat(64));
    ProjectPage page =
        new ProjectPage(
            "demo-pkg",
            List.of(
                new DistributionFile(
                    "demo_pkg-1.0+local-py3-none-any.whl",
                    URI.create("http://up/x.whl"),
                    sha,
                    ">=3.9",
                    null),
                new DistributionFile(
                    "demo_pkg-0.1.tar.gz", URI.create("http://up/y"), sha, null, "")));

    JsonObject json = new JsonObject(SimpleIndexFormat.JSON_V1.renderProjectPage(page));

    assertThat(json.getJsonObject("meta").getString("api-version")).isEqualTo("1.0");
    assertThat(json.getString("name")).isEqualTo("demo-pkg");
    JsonObject wheel = json.getJsonArray("files").getJsonObject(0);
    assertThat(wheel.getString("url"))
        .isEqualTo("/files/" + sha.hex() + "/demo_pkg-1.0%2Blocal-py3-none-any.whl");
    assertThat(wheel.getJsonObject("hashes").getString("sha256")).isEqualTo(sha.hex());
    assertThat(wheel.getString("requires-python")).isEqualTo(">=3.9");
    assertThat(wheel.containsKey("yanked")).isFalse();
    assertThat(json.getJsonArray("files").getJsonObject(1).getValue("yanked")).isEqualTo(true);
  }

  @Test
  void htmlPageEscapesAttributes() {
    Digest sha = Digest.ofHex("c".repeat(64));
    ProjectPage page =
        new ProjectPage(
            "demo-pkg",
            List.of(
                new DistributionFile(
                    "demo_pkg-1.0-py3-none-any.whl",
                    URI.create("http://up/x.whl"),
                    sha,
                    ">=3.9,<4",
                    "bad \"build\"")));

    String html = SimpleIndexFormat.HTML.renderProjectPage(page);

    assertThat(html)
        .contains("href=\"/files/" + sha.hex() + "/demo_pkg-1.0-py3-none-any.whl#sha256=")
        .contains("data-requires-python=\"&gt;=3.9,&lt;4\"")
        .contains("data-yanked=\"bad &quot;build&quot;\"");
  }
}
