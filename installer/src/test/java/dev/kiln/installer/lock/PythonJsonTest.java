package dev.kiln.installer.lock;

import static org.assertj.core.api.Assertions.assertThat;

import com.fasterxml.jackson.databind.JsonNode;
import dev.kiln.installer.Codes;
import java.nio.charset.StandardCharsets;
import org.junit.jupiter.api.Test;

class PythonJsonTest {
  /**
   * Parsed with tomllib and dumped by CPython 3.11.7; the expected texts are its output. (TOML's
   * {@code -0.0} is left out: Jackson's TOML reader drops the sign of zero.)
   */
  private static final String TOML =
      """
      [tool.poetry.dependencies]
      python = "^3.10"
      "Zoë-lib" = { version = "^1.0", markers = "sys_platform == \\"linux\\"", extras = ["a", "b"] }
      "émoji" = "*"
      tab = "a\\tb\\"c\\\\d\\u0001\\u007f😀"
      zeta = 1.5e-7
      big = 12345678901234567890
      f1 = 0.1
      f2 = 1e16
      f3 = 123456789.125
      f5 = 3.10
      neg = -3
      flag = true
      [tool.poetry.extras]
      "B" = ["x"]
      "a" = ["y"]
      "_" = []
      """;

  private static JsonNode parse() throws Exception {
    return Documents.toml(
        TOML.getBytes(StandardCharsets.UTF_8), "test.toml", Codes.UV_LOCK_INVALID, "");
  }

  @Test
  void defaultSeparatorsMatchCpythonByteForByte() throws Exception {
    assertThat(PythonJson.dumps(parse(), PythonJson.Separators.DEFAULT))
        .isEqualTo(
            "{\"tool\": {\"poetry\": {\"dependencies\": {\"Zo\\u00eb-lib\": {\"extras\": [\"a\","
                + " \"b\"], \"markers\": \"sys_platform == \\\"linux\\\"\", \"version\": \"^1.0\"},"
                + " \"big\": 12345678901234567890, \"f1\": 0.1, \"f2\": 1e+16, \"f3\": 123456789.125,"
                + " \"f5\": 3.1, \"flag\": true, \"neg\": -3, \"python\": \"^3.10\","
                + " \"tab\": \"a\\tb\\\"c\\\\d\\u0001\\u007f\\ud83d\\ude00\", \"zeta\": 1.5e-07,"
                + " \"\\u00e9moji\": \"*\"}, \"extras\": {\"B\": [\"x\"], \"_\": [], \"a\":"
                + " [\"y\"]}}}}");
  }

  @Test
  void compactSeparatorsMatchCpythonByteForByte() throws Exception {
    assertThat(PythonJson.dumps(parse(), PythonJson.Separators.COMPACT))
        .isEqualTo(
            "{\"tool\":{\"poetry\":{\"dependencies\":{\"Zo\\u00eb-lib\":{\"extras\":[\"a\",\"b\"],"
                + "\"markers\":\"sys_platform == \\\"linux\\\"\",\"version\":\"^1.0\"},"
                + "\"big\":12345678901234567890,\"f1\":0.1,\"f2\":1e+16,\"f3\":123456789.125,"
                + "\"f5\":3.1,\"flag\":true,\"neg\":-3,\"python\":\"^3.10\","
                + "\"tab\":\"a\\tb\\\"c\\\\d\\u0001\\u007f\\ud83d\\ude00\",\"zeta\":1.5e-07,"
                + "\"\\u00e9moji\":\"*\"},\"extras\":{\"B\":[\"x\"],\"_\":[],\"a\":[\"y\"]}}}}");
  }

  @Test
  void floatsUsePythonRepr() {
    assertThat(PythonJson.floatRepr(1.0)).isEqualTo("1.0");
    assertThat(PythonJson.floatRepr(0.0001)).isEqualTo("0.0001");
    assertThat(PythonJson.floatRepr(0.00001)).isEqualTo("1e-05");
    assertThat(PythonJson.floatRepr(1e15)).isEqualTo("1000000000000000.0");
    assertThat(PythonJson.floatRepr(2.5e16)).isEqualTo("2.5e+16");
    assertThat(PythonJson.floatRepr(1.0 / 3)).isEqualTo("0.3333333333333333");
    assertThat(PythonJson.floatRepr(Double.POSITIVE_INFINITY)).isEqualTo("Infinity");
  }
}
