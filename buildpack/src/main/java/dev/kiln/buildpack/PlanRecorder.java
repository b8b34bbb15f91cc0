package dev.kiln.buildpack;

import java.nio.file.Path;
import java.util.ArrayList;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;

/** The plan as it is being worked out: every field set so far, and the events to log. */
final class PlanRecorder {
  String strategy;
  String sourceDir;
  Path sourceRoot;
  Path repositoryRoot;
  String dockerfilePath;
  PythonSelection python;
  RuntimeCatalog.Runtime runtime;
  String packageManager;
  final List<String> packageManagerFiles = new ArrayList<>();
  final List<String> requirementFiles = new ArrayList<>();
  final List<String> ciInstalls = new ArrayList<>();
  final Map<String, String> processes = new LinkedHashMap<>();
  RunCommand run;
  String buildCommand;
  final Map<String, String> runtimeEnvironment = new LinkedHashMap<>();
  final List<Diagnostic> warnings = new ArrayList<>();
  Diagnostic error;
  final List<LogEvent> events = new ArrayList<>();

  void step(String text) {
    events.add(LogEvent.step(text));
  }

  void detail(String text) {
    events.add(LogEvent.detail(text));
  }

  void warn(Diagnostic warning) {
    warnings.add(warning);
    events.add(LogEvent.warning(warning));
  }

  void fail(Diagnostic failure) {
    error = failure;
    events.add(LogEvent.error(failure));
  }

  PlanResult toResult() {
    return new PlanResult(this);
  }
}
