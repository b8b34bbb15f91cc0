package dev.kiln.buildpack;

import java.util.LinkedHashSet;
import java.util.Set;
import java.util.regex.Matcher;
import java.util.regex.Pattern;

/**
 * Package names from TOML lock and project files, read line by line. A full TOML parser is not
 * needed: these files are machine-written with one key per line, and a name we miss only means a
 * run command is not auto-detected.
 */
final class LockfileNames {
  private static final Pattern TABLE = Pattern.compile("^\\s*\\[\\s*([^\\]]*?)\\s*\\]\\s*(#.*)?$");
  private static final Pattern ARRAY_TABLE =
      Pattern.compile("^\\s*\\[\\[\\s*([^\\]]*?)\\s*\\]\\]\\s*(#.*)?$");
  private static final Pattern NAME = Pattern.compile("^\\s*name\\s*=\\s*[\"']([^\"']+)[\"']");
  private static final Pattern CATEGORY =
      Pattern.compile("^\\s*category\\s*=\\s*[\"']([^\"']+)[\"']");
  private static final Pattern GROUPS = Pattern.compile("^\\s*groups\\s*=\\s*\\[(.*)\\]");
  private static final Pattern KEY =
      Pattern.compile("^\\s*(?:\"([^\"]+)\"|'([^']+)'|([A-Za-z0-9._-]+))\\s*=");
  private static final Pattern QUOTED = Pattern.compile("\"([^\"]*)\"|'([^']*)'");

  private LockfileNames() {}

  /**
   * {@code [[package]]} names of a {@code poetry.lock} or {@code uv.lock}, leaving out packages
   * that the lock marks as belonging only to non-main groups (Poetry's {@code category = "dev"} or
   * {@code groups = ["dev"]}).
   */
  static Set<String> lockedPackages(String text) {
    return arrayTableNames(text, "package");
  }

  /** {@code [[packages]]} names of a PEP 751 {@code pylock.toml}. */
  static Set<String> pylockPackages(String text) {
    return arrayTableNames(text, "packages");
  }

  private static Set<String> arrayTableNames(String text, String table) {
    Set<String> names = new LinkedHashSet<>();
    String name = null;
    boolean main = true;
    boolean inPackageTopLevel = false;
    for (String line : Text.lines(text)) {
      Matcher arrayTable = ARRAY_TABLE.matcher(line);
      if (arrayTable.find()) {
        if (name != null && main) {
          names.add(PackageNames.normalize(name));
        }
        name = null;
        main = true;
        inPackageTopLevel = arrayTable.group(1).equals(table);
        continue;
      }
      if (TABLE.matcher(line).find()) {
        inPackageTopLevel = false;
        continue;
      }
      if (!inPackageTopLevel) {
        continue;
      }
      Matcher m = NAME.matcher(line);
      if (m.find() && name == null) {
        name = m.group(1);
        continue;
      }
      m = CATEGORY.matcher(line);
      if (m.find()) {
        main = m.group(1).equals("main");
        continue;
      }
      m = GROUPS.matcher(line);
      if (m.find()) {
        main = m.group(1).matches(".*[\"']main[\"'].*");
      }
    }
    if (name != null && main) {
      names.add(PackageNames.normalize(name));
    }
    return names;
  }

  /** Keys of the {@code [packages]} table of a Pipfile (Pipenv without a lock). */
  static Set<String> pipfilePackages(String text) {
    Set<String> names = new LinkedHashSet<>();
    boolean inPackages = false;
    for (String line : Text.lines(text)) {
      Matcher table = TABLE.matcher(line);
      if (table.find() && !line.strip().startsWith("[[")) {
        inPackages = table.group(1).equals("packages");
        continue;
      }
      if (!inPackages) {
        continue;
      }
      Matcher key = KEY.matcher(line);
      if (key.find()) {
        String name =
            key.group(1) != null
                ? key.group(1)
                : key.group(2) != null ? key.group(2) : key.group(3);
        names.add(PackageNames.normalize(name));
      }
    }
    return names;
  }

  /**
   * Requirement strings listed in {@code key = [...]} (pyproject {@code dependencies}) or {@code
   * key=[...]} (setup.py {@code install_requires}): the names of the quoted entries.
   */
  static Set<String> listedRequirements(String text, String key) {
    Set<String> names = new LinkedHashSet<>();
    Matcher start = Pattern.compile("\\b" + Pattern.quote(key) + "\\s*=\\s*\\[").matcher(text);
    while (start.find()) {
      String body = text.substring(start.end(), closingBracket(text, start.end()));
      Matcher quoted = QUOTED.matcher(body);
      while (quoted.find()) {
        String requirement = quoted.group(1) != null ? quoted.group(1) : quoted.group(2);
        PackageNames.fromRequirement(requirement).ifPresent(names::add);
      }
    }
    return names;
  }

  /** The index of the {@code ]} closing a list, skipping brackets inside quoted strings. */
  private static int closingBracket(String text, int from) {
    char quote = 0;
    for (int i = from; i < text.length(); i++) {
      char c = text.charAt(i);
      if (quote != 0) {
        if (c == quote) {
          quote = 0;
        }
      } else if (c == '"' || c == '\'') {
        quote = c;
      } else if (c == ']') {
        return i;
      }
    }
    return text.length();
  }
}
