package dev.kiln.buildpack;

import java.nio.file.InvalidPathException;
import java.nio.file.Path;
import java.util.ArrayDeque;
import java.util.ArrayList;
import java.util.Deque;
import java.util.HashSet;
import java.util.LinkedHashSet;
import java.util.List;
import java.util.Set;

/**
 * Follows {@code requirements.txt} and every file it includes with {@code -r} / {@code -c} (paths
 * relative to the including file, as pip reads them), staying inside the repository.
 */
final class RequirementsWalk {
  private static final int MAX_FILES = 200;

  record Result(List<String> files, Set<String> packageNames) {}

  private RequirementsWalk() {}

  private record Pending(Path location, SourceTree.Entry entry, boolean installs) {}

  static Result walk(PlanContext context, SourceTree.Entry top) throws BuildpackException {
    List<String> files = new ArrayList<>();
    Set<String> names = new LinkedHashSet<>();
    Set<Path> seen = new HashSet<>();
    Deque<Pending> queue = new ArrayDeque<>();
    queue.add(new Pending(context.sourceRoot.resolve(top.display()), top, true));
    seen.add(top.real());
    files.add(top.display());
    while (!queue.isEmpty()) {
      Pending current = queue.removeFirst();
      RequirementsParser.Parsed parsed =
          RequirementsParser.parse(context.readText(current.entry(), SourceTree.TEXT_FILE_LIMIT));
      if (current.installs()) {
        names.addAll(parsed.packageNames());
      }
      for (RequirementsParser.Include include : parsed.includes()) {
        if (include.path().contains("${")) {
          continue; // pip expands environment variables at install time; nothing to check here
        }
        Path location = includeLocation(context, current, include);
        String display = display(context, location);
        SourceTree.Entry entry =
            context.tree.inspect(location.getParent(), location.getFileName().toString(), display);
        if (entry.unsafe()) {
          throw SourceTree.unsafe(entry);
        }
        if (!entry.isFile()) {
          throw new BuildpackException(
              Codes.REQUIREMENTS_INCLUDE_NOT_FOUND,
              Text.quote(current.entry().display())
                  + " includes '"
                  + Text.quote(include.path())
                  + "' ("
                  + flag(include)
                  + "), but "
                  + Text.quote(display)
                  + " is not a file in the repository.\n\n"
                  + "pip reads an included path relative to the file that includes it, and the name is"
                  + " case-sensitive. Fix the path or commit the missing file.");
        }
        if (seen.add(entry.real()) && files.size() < MAX_FILES) {
          files.add(display);
          queue.add(
              new Pending(
                  location,
                  entry,
                  current.installs()
                      && include.kind() == RequirementsParser.IncludeKind.REQUIREMENTS));
        }
      }
    }
    return new Result(files, names);
  }

  private static Path includeLocation(
      PlanContext context, Pending current, RequirementsParser.Include include)
      throws BuildpackException {
    Path location;
    try {
      location = current.location().getParent().resolve(include.path()).normalize();
    } catch (InvalidPathException e) {
      location = null;
    }
    if (location == null
        || location.getFileName() == null
        || !context.tree.containsLexically(location)) {
      throw new BuildpackException(
          Codes.REQUIREMENTS_INCLUDE_OUTSIDE,
          Text.quote(current.entry().display())
              + " includes '"
              + Text.quote(include.path())
              + "' ("
              + flag(include)
              + "), which is outside the repository. Kiln only reads files inside the repository being built.\n\n"
              + "Copy the file into the repository and include it with a relative path, for example\n"
              + "  -r requirements/base.txt");
    }
    return location;
  }

  private static String display(PlanContext context, Path location) {
    return context.sourceRoot.relativize(location).toString().replace('\\', '/');
  }

  private static String flag(RequirementsParser.Include include) {
    return include.kind() == RequirementsParser.IncludeKind.REQUIREMENTS ? "-r" : "-c";
  }
}
