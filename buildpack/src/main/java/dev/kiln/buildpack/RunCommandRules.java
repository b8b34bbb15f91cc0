package dev.kiln.buildpack;

import java.util.ArrayList;
import java.util.List;
import java.util.Optional;
import java.util.Set;
import java.util.regex.Matcher;
import java.util.regex.Pattern;

/**
 * §6: the command the image runs. In order: the app spec's {@code run_command}; the {@code web:}
 * line of a {@code Procfile}; detection (Django with gunicorn; a root {@code wsgi.py} or {@code
 * app.py} exposing {@code app} with gunicorn; a FastAPI {@code main.py} with uvicorn).
 */
final class RunCommandRules {
  private static final Pattern PROCFILE_LINE =
      Pattern.compile("^\\s*([A-Za-z0-9_-]+)\\s*:\\s*(.*?)\\s*$");
  private static final Pattern SETTINGS_MODULE =
      Pattern.compile(
          "[\"']DJANGO_SETTINGS_MODULE[\"']\\s*,\\s*[\"']([A-Za-z_][A-Za-z0-9_]*(?:\\.[A-Za-z_][A-Za-z0-9_]*)*)[\"']");
  private static final Pattern IDENTIFIER = Pattern.compile("[A-Za-z_][A-Za-z0-9_]*");
  private static final Pattern EXPOSES_APP =
      Pattern.compile(
          "^(?:app\\s*(?::[^=\\n]*)?=(?!=)"
              + "|(?:async\\s+)?def\\s+app\\s*\\("
              + "|class\\s+app\\b"
              + "|from[ \\t]+[\\w.]+[ \\t]+import[ \\t]+(?:\\([ \\t]*)?(?:[\\w \\t,]*,[ \\t]*)?(?:\\w+[ \\t]+as[ \\t]+)?app\\b"
              + "|import[ \\t]+[\\w.]+[ \\t]+as[ \\t]+app\\b)",
          Pattern.MULTILINE);
  private static final int MAX_SCANNED_DIRECTORIES = 200;

  private RunCommandRules() {}

  static void apply(PlanContext context, PackageManagerChoice choice) throws BuildpackException {
    PlanRecorder plan = context.plan;
    String fromSpec = context.inputs.appSpec().runCommand();
    if (fromSpec != null && !fromSpec.isBlank()) {
      plan.run = new RunCommand(fromSpec.strip(), RunCommand.SOURCE_APP_SPEC);
      plan.step("Run command from the app spec: " + plan.run.command());
      return;
    }
    SourceTree.Entry procfile = context.inspectSafely("Procfile");
    if (procfile.isFile()) {
      Optional<String> web = webProcess(context.readText(procfile, SourceTree.VERSION_FILE_LIMIT));
      if (web.isPresent()) {
        plan.run = new RunCommand(web.get(), RunCommand.SOURCE_PROCFILE);
        plan.step("Run command from the Procfile (web): " + web.get());
        return;
      }
      plan.warn(
          new Diagnostic(
              Codes.PROCFILE_NO_WEB_PROCESS,
              "The Procfile has no web: process, so Kiln does not use it for the run command.\n\n"
                  + "Add a line such as\n  web: gunicorn app:app\n"
                  + "to the Procfile (the name 'web' in lower case, then a colon and the command)."));
    }
    Set<String> packages = DependencyNames.of(context, choice);
    Optional<Detected> detected = detect(context, packages);
    if (detected.isPresent()) {
      plan.run = new RunCommand(detected.get().command(), RunCommand.SOURCE_DETECTED);
      plan.step(
          "Run command detected (" + detected.get().reason() + "): " + detected.get().command());
      return;
    }
    throw new BuildpackException(
        Codes.RUN_COMMAND_NOT_FOUND, notFound(context, packages, procfile.isFile()));
  }

  /**
   * Every process type the image can run: {@code web} (the run command just chosen, the image's
   * default), then the Procfile's other types (the first line of each name), then the app spec's
   * workers and jobs that share this source (a Procfile type of the same name wins).
   */
  static void processTypes(PlanContext context) throws BuildpackException {
    PlanRecorder plan = context.plan;
    if (plan.run != null) {
      plan.processes.put("web", plan.run.command());
    }
    SourceTree.Entry procfile = context.inspectSafely("Procfile");
    if (procfile.isFile()) {
      for (String line : Text.lines(context.readText(procfile, SourceTree.VERSION_FILE_LIMIT))) {
        Matcher m = PROCFILE_LINE.matcher(line);
        if (m.matches() && !Text.stripAsciiWhitespace(m.group(2)).isEmpty()) {
          plan.processes.putIfAbsent(m.group(1), Text.stripAsciiWhitespace(m.group(2)));
        }
      }
    }
    context.inputs.appSpec().processes().forEach(plan.processes::putIfAbsent);
    if (plan.processes.size() > 1) {
      plan.detail("Process types: " + String.join(", ", plan.processes.keySet()));
    }
  }

  /** The command of the first {@code web:} line. */
  static Optional<String> webProcess(String procfile) {
    for (String line : Text.lines(procfile)) {
      Matcher m = PROCFILE_LINE.matcher(line);
      if (m.matches()
          && m.group(1).equals("web")
          && !Text.stripAsciiWhitespace(m.group(2)).isEmpty()) {
        return Optional.of(Text.stripAsciiWhitespace(m.group(2)));
      }
    }
    return Optional.empty();
  }

  private record Detected(String command, String reason) {}

  private static Optional<Detected> detect(PlanContext context, Set<String> packages)
      throws BuildpackException {
    boolean gunicorn = packages.contains("gunicorn");
    if (gunicorn && packages.contains("django")) {
      Optional<String> project = djangoProject(context);
      if (project.isPresent()) {
        return Optional.of(
            new Detected("gunicorn " + project.get() + ".wsgi", "Django with gunicorn"));
      }
    }
    if (gunicorn) {
      for (String module : List.of("wsgi", "app")) {
        if (exposesApp(context, module + ".py")) {
          return Optional.of(
              new Detected("gunicorn " + module + ":app", module + ".py with gunicorn"));
        }
      }
    }
    if (packages.contains("fastapi")
        && packages.contains("uvicorn")
        && exposesApp(context, "main.py")) {
      return Optional.of(
          new Detected("uvicorn main:app --host 0.0.0.0 --port $PORT", "FastAPI with uvicorn"));
    }
    return Optional.empty();
  }

  private static boolean exposesApp(PlanContext context, String file) throws BuildpackException {
    SourceTree.Entry entry = context.inspectSafely(file);
    return entry.isFile()
        && EXPOSES_APP.matcher(context.readText(entry, SourceTree.TEXT_FILE_LIMIT)).find();
  }

  /**
   * The package holding {@code wsgi.py}: first from the settings module {@code manage.py} names
   * ({@code mysite.settings} → {@code mysite}), else the first directory next to {@code manage.py}
   * that has both {@code wsgi.py} and settings.
   */
  private static Optional<String> djangoProject(PlanContext context) throws BuildpackException {
    SourceTree.Entry manage = context.inspectSafely("manage.py");
    if (!manage.isFile()) {
      return Optional.empty();
    }
    Matcher settings =
        SETTINGS_MODULE.matcher(context.readText(manage, SourceTree.TEXT_FILE_LIMIT));
    if (settings.find()) {
      String[] parts = settings.group(1).split("\\.");
      for (int length = parts.length - 1; length >= 1; length--) {
        String pkg = String.join(".", java.util.Arrays.copyOf(parts, length));
        if (context.inspectSafely(pkg.replace('.', '/') + "/wsgi.py").isFile()) {
          return Optional.of(pkg);
        }
      }
    }
    int scanned = 0;
    for (String name : context.tree.listing(context.sourceRoot)) {
      if (!name.endsWith("/") || scanned++ == MAX_SCANNED_DIRECTORIES) {
        continue;
      }
      String directory = name.substring(0, name.length() - 1);
      if (!IDENTIFIER.matcher(directory).matches()) {
        continue;
      }
      boolean hasWsgi = context.inspectSafely(directory + "/wsgi.py").isFile();
      boolean hasSettings =
          context.inspectSafely(directory + "/settings.py").isFile()
              || context.inspect(directory + "/settings").isDirectory();
      if (hasWsgi && hasSettings) {
        return Optional.of(directory);
      }
    }
    return Optional.empty();
  }

  private static String notFound(PlanContext context, Set<String> packages, boolean hasProcfile) {
    List<String> hints = new ArrayList<>();
    boolean django = context.inspect("manage.py").isFile();
    boolean wsgiOrApp = context.inspect("wsgi.py").isFile() || context.inspect("app.py").isFile();
    boolean main = context.inspect("main.py").isFile();
    if ((django || wsgiOrApp) && !packages.contains("gunicorn")) {
      hints.add(
          "gunicorn is not among the app's dependencies; add it (for example to requirements.txt)"
              + " so Kiln can run the app with it.");
    }
    if (django && packages.contains("gunicorn")) {
      hints.add("manage.py was found, but no project package with wsgi.py next to its settings.");
    }
    if (main && !(packages.contains("fastapi") && packages.contains("uvicorn"))) {
      hints.add(
          "main.py was found; a FastAPI app is detected only when both fastapi and uvicorn are dependencies.");
    }
    if (wsgiOrApp && packages.contains("gunicorn")) {
      hints.add("wsgi.py or app.py was found, but neither defines a top-level 'app'.");
    }
    return "Kiln cannot tell how to start this app: there is no run command.\n\n"
        + "The app spec sets no run_command, "
        + (hasProcfile ? "the Procfile has no web: line" : "there is no Procfile")
        + ", and no known app layout was detected.\n"
        + (hints.isEmpty() ? "" : String.join("\n", hints) + "\n")
        + "\nSet one of these:\n"
        + "  - a file named Procfile at the top level of the app with a line such as\n"
        + "      web: gunicorn myproject.wsgi\n"
        + "  - run_command in the app spec.\n"
        + "The command must serve on the port in the PORT environment variable (gunicorn does this by itself).";
  }
}
