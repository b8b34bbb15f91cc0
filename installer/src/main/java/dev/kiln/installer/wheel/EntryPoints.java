package dev.kiln.installer.wheel;

import dev.kiln.installer.Codes;
import dev.kiln.installer.InstallerException;
import dev.kiln.installer.TargetEnvironment;
import java.nio.charset.StandardCharsets;
import java.util.ArrayList;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;
import java.util.Set;
import java.util.TreeMap;
import java.util.regex.Matcher;
import java.util.regex.Pattern;

/**
 * The {@code console_scripts} and {@code gui_scripts} of a wheel's {@code entry_points.txt}, and
 * the launcher scripts pip writes for them into {@code bin/}.
 */
final class EntryPoints {
  /** What Kiln puts on the first line of every Python script in {@code bin/}. */
  static final String SHEBANG = "#!/usr/bin/env python3";

  /*
   * distlib's ScriptMaker template, which pip uses, byte for byte (installer's differs only in
   * quotes): after Kiln's shebang normalization a launcher is the same file pip writes.
   */
  private static final String TEMPLATE =
      "# -*- coding: utf-8 -*-\n"
          + "import re\n"
          + "import sys\n"
          + "from %s import %s\n"
          + "if __name__ == '__main__':\n"
          + "    sys.argv[0] = re.sub(r'(-script\\.pyw|\\.exe)?$', '', sys.argv[0])\n"
          + "    sys.exit(%s())\n";

  // A script name must stay one file in bin/: distlib's name pattern, which excludes '/' and '\'.
  private static final Pattern NAME = Pattern.compile("(?U)[\\w.+-]+");
  // module:attr with dotted parts; only identifiers reach the generated Python source.
  private static final Pattern VALUE =
      Pattern.compile(
          "(?U)(?<module>\\w+(?:\\.\\w+)*)\\s*(?::\\s*(?<attr>\\w+(?:\\.\\w+)*))?\\s*(?:\\[[^\\]]*\\])?");
  private static final Pattern VERSIONED_PIP = Pattern.compile("pip(\\d+(\\.\\d+)?)?");
  private static final Pattern VERSIONED_EASY_INSTALL =
      Pattern.compile("easy_install(-\\d+\\.\\d+)?");

  /** One launcher to write: {@code bin/<name>} calling {@code module:attribute}. */
  record Script(String name, String module, String attribute) {
    byte[] launcher() {
      String importName = attribute.split("\\.", 2)[0];
      return (SHEBANG + "\n" + String.format(TEMPLATE, module, importName, attribute))
          .getBytes(StandardCharsets.UTF_8);
    }
  }

  private final Map<String, String> console;
  private final Map<String, String> gui;

  private EntryPoints(Map<String, String> console, Map<String, String> gui) {
    this.console = console;
    this.gui = gui;
  }

  static EntryPoints none() {
    return new EntryPoints(Map.of(), Map.of());
  }

  /**
   * Reads {@code entry_points.txt} as {@code importlib.metadata} does: stripped lines, {@code #}
   * comments, {@code [group]} headers, {@code name = value}; a name given twice keeps its last
   * value.
   */
  static EntryPoints parse(String wheel, String path, byte[] content) throws InstallerException {
    Map<String, String> console = new LinkedHashMap<>();
    Map<String, String> gui = new LinkedHashMap<>();
    String group = null;
    for (String raw : new String(content, StandardCharsets.UTF_8).lines().toList()) {
      String line = raw.strip();
      if (line.isEmpty() || line.startsWith("#")) {
        continue;
      }
      if (line.startsWith("[") && line.endsWith("]")) {
        group = line.replaceAll("^\\[+|\\]+$", "");
        continue;
      }
      Map<String, String> scripts =
          "console_scripts".equals(group) ? console : "gui_scripts".equals(group) ? gui : null;
      if (scripts == null) {
        continue;
      }
      int equals = line.indexOf('=');
      if (equals < 0) {
        throw invalid(wheel, path, line, "is not 'name = module:function'");
      }
      scripts.put(line.substring(0, equals).strip(), line.substring(equals + 1).strip());
    }
    return new EntryPoints(console, gui);
  }

  /** Every name {@code entry_points.txt} declares a script for, before pip's renaming. */
  Set<String> declaredNames() {
    Set<String> names = new java.util.HashSet<>(console.keySet());
    names.addAll(gui.keySet());
    return names;
  }

  /**
   * The launchers pip would write, by name. As pip does, {@code pip} and {@code easy_install} get
   * the versioned names of the target's Python ({@code pip3}, {@code pip3.12}, {@code
   * easy_install-3.12}) instead of the ones the wheel was built with, and a GUI script replaces a
   * console script of the same name (on Linux both are the same kind of file).
   */
  Map<String, Script> scripts(String wheel, String path, TargetEnvironment target)
      throws InstallerException {
    Map<String, String> specs = new LinkedHashMap<>(console);
    List<String[]> renamed = new ArrayList<>();
    String pip = specs.remove("pip");
    if (pip != null) {
      renamed.add(new String[] {"pip", pip});
      renamed.add(new String[] {"pip3", pip});
      renamed.add(new String[] {"pip" + target.pythonMinor(), pip});
      specs.keySet().removeIf(name -> VERSIONED_PIP.matcher(name).matches());
    }
    String easyInstall = specs.remove("easy_install");
    if (easyInstall != null) {
      renamed.add(new String[] {"easy_install", easyInstall});
      renamed.add(new String[] {"easy_install-" + target.pythonMinor(), easyInstall});
      specs.keySet().removeIf(name -> VERSIONED_EASY_INSTALL.matcher(name).matches());
    }
    Map<String, Script> scripts = new TreeMap<>();
    for (String[] spec : renamed) {
      scripts.put(spec[0], script(wheel, path, spec[0], spec[1]));
    }
    for (Map.Entry<String, String> spec : specs.entrySet()) {
      scripts.put(spec.getKey(), script(wheel, path, spec.getKey(), spec.getValue()));
    }
    for (Map.Entry<String, String> spec : gui.entrySet()) {
      scripts.put(spec.getKey(), script(wheel, path, spec.getKey(), spec.getValue()));
    }
    return scripts;
  }

  private static Script script(String wheel, String path, String name, String value)
      throws InstallerException {
    if (!NAME.matcher(name).matches() || name.equals(".") || name.equals("..")) {
      throw new InstallerException(
          Codes.UNSAFE_WHEEL,
          wheel
              + ": "
              + path
              + " declares a script named '"
              + name
              + "', which is not a plain file name (letters, digits, '.', '_', '+', '-'): it"
              + " could be written outside bin/. Kiln refuses the wheel; use another release");
    }
    Matcher matcher = VALUE.matcher(value);
    if (!matcher.matches()) {
      throw invalid(wheel, path, name + " = " + value, "is not 'name = module:function'");
    }
    if (matcher.group("attr") == null) {
      throw invalid(
          wheel,
          path,
          name + " = " + value,
          "names a module but no function to call (pip refuses it too: a callable suffix is"
              + " required)");
    }
    return new Script(name, matcher.group("module"), matcher.group("attr"));
  }

  private static InstallerException invalid(String wheel, String path, String line, String why) {
    return new InstallerException(
        Codes.INVALID_WHEEL,
        wheel
            + ": the entry point '"
            + line
            + "' in "
            + path
            + " "
            + why
            + ", so its script cannot be written. The wheel is broken: use another release");
  }
}
