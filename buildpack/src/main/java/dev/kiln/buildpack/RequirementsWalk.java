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
 * relative to the including file, as pip reads them), staying inside the repository. A local
 * project it installs ({@code .}, {@code -e ./lib}; relative to the source directory, where pip
 * runs) adds its metadata files, because they decide what the install pulls in: a {@code setup.py}
 * that gains a dependency is a new dependency set.
 */
final class RequirementsWalk {
  private static final int MAX_FILES = 200;
  private static final List<String> PROJECT_METADATA =
      List.of("pyproject.toml", "setup.py", "setup.cfg");

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
        for (RequirementsParser.LocalPath local : parsed.localPaths()) {
          for (String metadata : localProjectMetadata(context, current, local)) {
            if (files.size() < MAX_FILES && !files.contains(metadata)) {
              files.add(metadata);
            }
          }
        }
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

  /** The metadata files of a local project, as paths relative to the source directory. */
  private static List<String> localProjectMetadata(
      PlanContext context, Pending current, RequirementsParser.LocalPath local)
      throws BuildpackException {
    String raw = local.path();
    String shown = (local.editable() ? "-e " : "") + raw;
    if (raw.startsWith("file:")) {
      raw = raw.substring("file:".length());
    }
    Path location = null;
    if (!raw.startsWith("/")) {
      try {
        location = context.sourceRoot.resolve(raw).normalize();
      } catch (InvalidPathException e) {
        location = null;
      }
    }
    if (location == null || !context.tree.containsLexically(location)) {
      throw new BuildpackException(
          Codes.REQUIREMENTS_INCLUDE_OUTSIDE,
          Text.quote(current.entry().display())
              + " installs the local project '"
              + Text.quote(shown)
              + "', which is outside the repository. Kiln only builds projects inside the"
              + " repository being built.\n\n"
              + "Use a path relative to the source directory, for example\n  -e .");
    }
    if (local.isArchive()) {
      String file = display(context, location);
      SourceTree.Entry entry =
          context.tree.inspect(location.getParent(), location.getFileName().toString(), file);
      if (entry.unsafe()) {
        throw SourceTree.unsafe(entry);
      }
      if (!entry.isFile()) {
        throw new BuildpackException(
            Codes.REQUIREMENTS_LOCAL_PROJECT_NOT_FOUND,
            Text.quote(current.entry().display())
                + " installs the file '"
                + Text.quote(shown)
                + "', which is not a file in the repository.\n\n"
                + "pip reads a local path relative to the source directory, and the name is"
                + " case-sensitive. Fix the path or commit the file.");
      }
      return List.of(file);
    }
    String display = location.equals(context.sourceRoot) ? "" : display(context, location) + "/";
    List<String> metadata = new ArrayList<>();
    for (String name : PROJECT_METADATA) {
      SourceTree.Entry entry = context.tree.inspect(location, name, display + name);
      if (entry.unsafe()) {
        throw SourceTree.unsafe(entry);
      }
      if (entry.isFile()) {
        metadata.add(display + name);
      }
    }
    if (metadata.stream().noneMatch(m -> !m.endsWith("setup.cfg"))) {
      throw new BuildpackException(
          Codes.REQUIREMENTS_LOCAL_PROJECT_NOT_FOUND,
          Text.quote(current.entry().display())
              + " installs the local project '"
              + Text.quote(shown)
              + "', but "
              + (display.isEmpty() ? "the source directory" : Text.quote(display))
              + " has neither a pyproject.toml nor a setup.py, so there is no project to build.\n\n"
              + "pip reads a local path relative to the source directory. Fix the path, or add"
              + " the project's pyproject.toml or setup.py.");
    }
    return metadata;
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
