package dev.kiln.events;

import static org.assertj.core.api.Assertions.assertThat;
import static org.assertj.core.api.Assertions.assertThatThrownBy;

import java.nio.charset.StandardCharsets;
import java.time.Instant;
import java.util.Map;
import org.apache.kafka.clients.producer.ProducerRecord;
import org.apache.kafka.common.header.Header;
import org.apache.kafka.common.header.internals.RecordHeaders;
import org.junit.jupiter.api.Test;

class EventCodecTest {
  private static final String COMMIT = "0123456789abcdef0123456789abcdef01234567";
  private final EventCodec codec = new EventCodec("/kiln/test");

  private static PushEvent push() {
    return new PushEvent(
        "acme",
        "shop",
        "file:///srv/git/shop.git",
        "refs/heads/main",
        COMMIT,
        new AppSpec(
            null,
            null,
            null,
            "gunicorn app:app",
            java.util.List.of(new AppSpec.EnvVar("A", "1", null))),
        Map.of(),
        Instant.parse("2026-11-21T10:00:00Z"));
  }

  @Test
  void pushRoundTripsThroughBinaryModeHeaders() throws Exception {
    ProducerRecord<String, byte[]> record = codec.toRecord("kiln.push", "k", push());

    assertThat(header(record, "ce_specversion")).isEqualTo("1.0");
    assertThat(header(record, "ce_type")).isEqualTo("dev.kiln.push.v1");
    assertThat(header(record, "ce_source")).isEqualTo("/kiln/test");
    assertThat(header(record, "content-type")).isEqualTo("application/json");

    EventCodec.Decoded decoded = EventCodec.decode(record.headers(), record.value());
    assertThat(decoded.type()).isEqualTo(EventType.PUSH);
    assertThat(decoded.body(PushEvent.class)).isEqualTo(push());
  }

  @Test
  void recordWithoutCloudEventsHeadersIsRejectedNamingSpecversion() {
    assertThatThrownBy(
            () -> EventCodec.decode(new RecordHeaders(), "{}".getBytes(StandardCharsets.UTF_8)))
        .isInstanceOf(InvalidEventException.class)
        .extracting(e -> ((InvalidEventException) e).field())
        .isEqualTo("ce_specversion");
  }

  @Test
  void unknownTypeIsRejectedNamingCeType() {
    var record = codec.toRecord("kiln.push", "k", push());
    record.headers().remove("ce_type");
    record.headers().add("ce_type", "com.example.other".getBytes(StandardCharsets.UTF_8));
    assertThatThrownBy(() -> EventCodec.decode(record.headers(), record.value()))
        .hasMessageContaining("ce_type")
        .hasMessageContaining("com.example.other");
  }

  @Test
  void badCommitIsRejectedNamingTheField() {
    String json =
        "{\"tenant\":\"acme\",\"app\":\"shop\",\"repoUrl\":\"https://git.example/x.git\",\"commit\":\"main\"}";
    assertThatThrownBy(
            () -> EventCodec.fromJson(json.getBytes(StandardCharsets.UTF_8), PushEvent.class))
        .isInstanceOf(InvalidEventException.class)
        .hasMessageStartingWith("commit:")
        .hasMessageContaining("git rev-parse HEAD");
  }

  @Test
  void malformedJsonIsRejectedWithTheParserMessage() {
    assertThatThrownBy(
            () ->
                EventCodec.fromJson(
                    "{\"tenant\":".getBytes(StandardCharsets.UTF_8), PushEvent.class))
        .isInstanceOf(InvalidEventException.class);
  }

  @Test
  void tenantWithUppercaseOrControlBytesIsRejectedAndQuotedSafely() {
    PushEvent bad =
        new PushEvent(
            "Acme\u0007", "shop", "https://git.example/x.git", null, COMMIT, null, null, null);
    assertThatThrownBy(bad::validate)
        .hasMessageStartingWith("tenant:")
        .hasMessageContaining("Acme\uFFFD");
  }

  @Test
  void buildIdIsDeterministicPerTenantAppAndCommit() {
    assertThat(push().buildId()).isEqualTo(BuildIds.of("acme", "shop", COMMIT));
    assertThat(BuildIds.of("acme", "shop", COMMIT))
        .isNotEqualTo(BuildIds.of("acme", "shop2", COMMIT));
    assertThat(BuildIds.isValid(push().buildId())).isTrue();
  }

  @Test
  void outcomeEventsCarryTheCallerChosenIdAndPrintAsStructuredJson() throws Exception {
    ImageReady ready =
        new ImageReady(
            push().buildId(),
            "acme",
            "shop",
            COMMIT,
            null,
            "registry.local/acme/shop:0123456789ab",
            Digest.of("sha256:" + "a".repeat(64)),
            "3.12.7",
            "gunicorn app:app",
            null,
            Instant.EPOCH);
    var event = codec.toCloudEvent(ready, "acme/shop", ready.buildId() + ":image-ready");
    String json = EventCodec.toStructuredJson(event);
    assertThat(json)
        .contains("\"type\":\"dev.kiln.image-ready.v1\"")
        .contains(ready.buildId() + ":image-ready");
    assertThat(EventCodec.decode(EventCodec.fromStructuredJson(json)).body(ImageReady.class))
        .isEqualTo(ready);
  }

  @Test
  void digestRejectsAnythingButSha256Hex() {
    assertThatThrownBy(() -> Digest.of("sha256:xyz")).hasMessageContaining("64 lowercase hex");
    assertThat(Digest.of("b".repeat(64)).toString()).isEqualTo("sha256:" + "b".repeat(64));
  }

  @Test
  void topicPrefixKeepsFarmsApart() {
    assertThat(Topics.withPrefix("t1.").push()).isEqualTo("t1.kiln.push");
    assertThat(Topics.DEFAULT.all())
        .extracting(Topics.Spec::name)
        .contains("kiln.builds", "kiln.dlq");
    assertThat(Topics.DEFAULT.all())
        .filteredOn(Topics.Spec::compacted)
        .extracting(Topics.Spec::name)
        .containsExactly("kiln.builds", "kiln.tenants");
    assertThatThrownBy(() -> Topics.withPrefix("bad prefix"))
        .isInstanceOf(IllegalArgumentException.class);
  }

  private static String header(ProducerRecord<String, byte[]> record, String key) {
    Header h = record.headers().lastHeader(key);
    return h == null ? null : new String(h.value(), StandardCharsets.UTF_8);
  }
}
