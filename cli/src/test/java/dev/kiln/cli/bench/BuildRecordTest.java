package dev.kiln.cli.bench;

import static org.assertj.core.api.Assertions.assertThat;
import static org.assertj.core.api.Assertions.assertThatThrownBy;

import dev.kiln.events.EventCodec;
import org.junit.jupiter.api.Test;

class BuildRecordTest {
  private static final String RECORD =
      """
      {"buildId":"b-0123456789abcdef0123","state":"SUCCEEDED",
       "createdAt":"2026-11-30T17:00:00.000Z","updatedAt":"2026-11-30T17:00:00.420Z",
       "layer":{"reused":false,"resolved":[
         {"name":"flask","version":"3.1.3","filename":"flask-3.1.3-py3-none-any.whl","sha256":"aa"},
         {"name":"gunicorn","version":"26.2.0","filename":"gunicorn-26.2.0-py3-none-any.whl","sha256":"sha256:bb"}]},
       "steps":[
         {"kind":"DETECT","taskId":"t1","worker":"w","durationMillis":120,"skipped":false,
          "waitedMillis":7,"reportedMillis":3},
         {"kind":"INSTALL","taskId":"t2","worker":null,"durationMillis":0,"skipped":true},
         {"kind":"ASSEMBLE","taskId":"t3","worker":"w","durationMillis":200,"skipped":false}]}
      """;

  @Test
  void readsTheTimingsOfABuild() throws Exception {
    BuildRecord build = BuildRecord.parse(EventCodec.mapper().readTree(RECORD));

    assertThat(build.succeeded()).isTrue();
    assertThat(build.totalMillis()).isEqualTo(420);
    assertThat(build.steps()).hasSize(3);
    assertThat(build.step("DETECT").orElseThrow().waitedMillis()).isEqualTo(7L);
    assertThat(build.step("DETECT").orElseThrow().reportedMillis()).isEqualTo(3L);
    assertThat(build.step("ASSEMBLE").orElseThrow().waitedMillis()).isNull();
    assertThat(build.step("ASSEMBLE").orElseThrow().durationMillis()).isEqualTo(200);
    assertThat(build.installRan()).isFalse();
    assertThat(build.failureCode()).isNull();
  }

  @Test
  void theResolvedSetBecomesAHashedFullyPinnedRequirementsFile() throws Exception {
    BuildRecord build = BuildRecord.parse(EventCodec.mapper().readTree(RECORD));

    assertThat(build.lockedRequirements())
        .isEqualTo("flask==3.1.3 --hash=sha256:aa\ngunicorn==26.2.0 --hash=sha256:bb\n");
  }

  @Test
  void anInstallThatRanAndARecordWithoutTimes() throws Exception {
    BuildRecord build =
        BuildRecord.parse(
            EventCodec.mapper()
                .readTree(
                    "{\"buildId\":\"b-1\",\"state\":\"FAILED\",\"failure\":{\"code\":\"install::failed\"},\"steps\":[{\"kind\":\"INSTALL\","
                        + "\"durationMillis\":900,\"skipped\":false}]}"));

    assertThat(build.installRan()).isTrue();
    assertThat(build.succeeded()).isFalse();
    assertThat(build.failureCode()).isEqualTo("install::failed");
    assertThat(build.totalMillis()).isEqualTo(-1);
    assertThatThrownBy(build::lockedRequirements).isInstanceOf(IllegalStateException.class);
  }

  @Test
  void hopRowAveragesStepsAndLeavesTheRest() throws Exception {
    BuildRecord build = BuildRecord.parse(EventCodec.mapper().readTree(RECORD));

    assertThat(BenchCommand.hopRow("flask", java.util.List.of(build, build)))
        .containsExactly("flask", "420 ms", "120 ms", "0 ms", "200 ms", "7 ms", "3 ms", "90 ms");
  }
}
