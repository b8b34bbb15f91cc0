package dev.kiln.installer;

import static org.assertj.core.api.Assertions.assertThat;

import java.lang.reflect.Field;
import java.lang.reflect.Modifier;
import java.util.ArrayList;
import java.util.List;
import org.junit.jupiter.api.Test;

class CodesTest {
  @Test
  void everyCodeIsListedOnceAndLooksLikeAreaReason() throws Exception {
    List<String> declared = new ArrayList<>();
    for (Field field : Codes.class.getFields()) {
      if (Modifier.isStatic(field.getModifiers()) && field.getType() == String.class) {
        declared.add((String) field.get(null));
      }
    }

    assertThat(Codes.ALL).containsExactlyInAnyOrderElementsOf(declared).doesNotHaveDuplicates();
    assertThat(Codes.ALL).allMatch(code -> code.matches("[a-z-]+::[a-z-]+"));
  }
}
