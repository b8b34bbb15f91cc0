package dev.kiln.installer.wheel;

import static org.assertj.core.api.Assertions.assertThat;
import static org.assertj.core.api.Assertions.assertThatThrownBy;

import dev.kiln.installer.Codes;
import dev.kiln.installer.InstallerException;
import java.nio.charset.StandardCharsets;
import java.util.List;
import net.jqwik.api.ForAll;
import net.jqwik.api.Property;
import net.jqwik.api.constraints.NotEmpty;
import net.jqwik.api.constraints.Size;
import org.junit.jupiter.api.Test;

class RecordFileTest {
  @Property
  void writtenRowsReadBackAsTheyWere(
      @ForAll @Size(max = 20) List<@Size(3) List<@NotEmpty String>> rows) {
    assertThat(RecordFile.csv(new String(RecordFile.write(rows), StandardCharsets.UTF_8)))
        .isEqualTo(rows);
  }

  @Test
  void readsQuotedFieldsAndWindowsLineEnds() {
    assertThat(RecordFile.csv("\"a,b\",\"say \"\"hi\"\"\",3\r\nc,,\r\n\r\n"))
        .containsExactly(List.of("a,b", "say \"hi\"", "3"), List.of("c", "", ""));
  }

  @Test
  void pathListedTwiceDifferentlyIsAMismatch() {
    byte[] record =
        "a.py,sha256=47DEQpj8HBSa-_TImW-5JCeuQeRkm5NMpJWZG3hSuFU,0\na.py,sha256=AAAA,0\n"
            .getBytes(StandardCharsets.UTF_8);

    assertThatThrownBy(() -> RecordFile.parse("x.whl", "x-1.dist-info/RECORD", record))
        .isInstanceOfSatisfying(
            InstallerException.class, e -> assertThat(e.code()).isEqualTo(Codes.RECORD_MISMATCH))
        .hasMessageContaining("lists a.py twice");
  }
}
