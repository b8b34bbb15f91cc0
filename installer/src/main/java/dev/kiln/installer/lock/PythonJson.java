package dev.kiln.installer.lock;

import com.fasterxml.jackson.databind.JsonNode;
import dev.kiln.installer.pep.PythonStrings;
import java.math.BigDecimal;
import java.util.ArrayList;
import java.util.Comparator;
import java.util.Iterator;
import java.util.List;
import java.util.Locale;

/**
 * What CPython's {@code json.dumps(value, sort_keys=True)} writes for a parsed TOML tree,
 * byte-for-byte: keys sorted by code point, {@code ensure_ascii} escapes, Python's float repr.
 * Poetry and Pipenv hash this text to tie a lock to its manifest.
 */
final class PythonJson {
  /** {@code json.dumps}'s default separators, and the compact ones Pipenv passes. */
  enum Separators {
    DEFAULT(", ", ": "),
    COMPACT(",", ":");

    private final String item;
    private final String key;

    Separators(String item, String key) {
      this.item = item;
      this.key = key;
    }
  }

  private static final Comparator<String> CODE_POINT_ORDER = PythonStrings::compare;

  private PythonJson() {}

  static String dumps(JsonNode value, Separators separators) {
    StringBuilder out = new StringBuilder();
    write(value, separators, out);
    return out.toString();
  }

  private static void write(JsonNode value, Separators separators, StringBuilder out) {
    if (value == null || value.isNull() || value.isMissingNode()) {
      out.append("null");
    } else if (value.isObject()) {
      List<String> keys = new ArrayList<>();
      for (Iterator<String> it = value.fieldNames(); it.hasNext(); ) {
        keys.add(it.next());
      }
      keys.sort(CODE_POINT_ORDER);
      out.append('{');
      for (int i = 0; i < keys.size(); i++) {
        if (i > 0) {
          out.append(separators.item);
        }
        string(keys.get(i), out);
        out.append(separators.key);
        write(value.get(keys.get(i)), separators, out);
      }
      out.append('}');
    } else if (value.isArray()) {
      out.append('[');
      for (int i = 0; i < value.size(); i++) {
        if (i > 0) {
          out.append(separators.item);
        }
        write(value.get(i), separators, out);
      }
      out.append(']');
    } else if (value.isTextual()) {
      string(value.asText(), out);
    } else if (value.isBoolean()) {
      out.append(value.booleanValue() ? "true" : "false");
    } else if (value.isIntegralNumber()) {
      out.append(value.bigIntegerValue());
    } else if (value.isFloatingPointNumber()) {
      out.append(floatRepr(value.doubleValue()));
    } else {
      // dates and times: Jackson's TOML reader hands them over as text
      string(value.asText(), out);
    }
  }

  /** A JSON string as {@code ensure_ascii=True} writes it. */
  static void string(String text, StringBuilder out) {
    out.append('"');
    for (int i = 0; i < text.length(); i++) {
      char c = text.charAt(i);
      switch (c) {
        case '"' -> out.append("\\\"");
        case '\\' -> out.append("\\\\");
        case '\n' -> out.append("\\n");
        case '\r' -> out.append("\\r");
        case '\t' -> out.append("\\t");
        case '\b' -> out.append("\\b");
        case '\f' -> out.append("\\f");
        default -> {
          if (c < 0x20 || c > 0x7e) {
            out.append(String.format(Locale.ROOT, "\\u%04x", (int) c));
          } else {
            out.append(c);
          }
        }
      }
    }
    out.append('"');
  }

  /** Python's {@code repr(float)}: the shortest digits that round-trip, in Python's layout. */
  static String floatRepr(double value) {
    if (Double.isNaN(value)) {
      return "NaN";
    }
    if (Double.isInfinite(value)) {
      return value > 0 ? "Infinity" : "-Infinity";
    }
    if (value == 0) {
      return (1 / value < 0) ? "-0.0" : "0.0";
    }
    BigDecimal shortest = null;
    for (int digits = 1; digits <= 17; digits++) {
      String candidate = String.format(Locale.ROOT, "%." + (digits - 1) + "e", value);
      if (Double.parseDouble(candidate) == value) {
        shortest = new BigDecimal(candidate);
        break;
      }
    }
    if (shortest == null) {
      shortest = new BigDecimal(value);
    }
    String sign = shortest.signum() < 0 ? "-" : "";
    BigDecimal magnitude = shortest.abs().stripTrailingZeros();
    String digits = magnitude.unscaledValue().toString();
    int exponent = digits.length() - 1 - magnitude.scale(); // of the first digit
    if (exponent < -4 || exponent >= 16) {
      String mantissa =
          digits.length() == 1 ? digits : digits.charAt(0) + "." + digits.substring(1);
      String exp = String.format(Locale.ROOT, "%02d", Math.abs(exponent));
      return sign + mantissa + "e" + (exponent < 0 ? "-" : "+") + exp;
    }
    String plain = magnitude.toPlainString();
    if (!plain.contains(".")) {
      plain = plain + ".0";
    }
    return sign + plain;
  }
}
