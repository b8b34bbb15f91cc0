package dev.kiln.cli;

import dev.kiln.buildpack.AppSpec;
import dev.kiln.buildpack.BuildpackException;
import java.io.IOException;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;

/** Reads an App Platform app spec file given on the command line ({@code --app-spec FILE}). */
final class AppSpecFiles {
  private static final long MAX_BYTES = 1024 * 1024;

  private AppSpecFiles() {}

  /**
   * The component {@code component} (or the first) of the spec in {@code file}; empty without a
   * file.
   *
   * @throws IllegalArgumentException saying what is wrong with the file and how to fix it
   */
  static AppSpec read(Path file, String component) {
    if (file == null) {
      if (component != null) {
        throw new IllegalArgumentException(
            "--component needs --app-spec FILE: it picks a component of that app spec.");
      }
      return AppSpec.empty();
    }
    String yaml;
    try {
      if (!Files.isRegularFile(file)) {
        throw new IllegalArgumentException(
            "--app-spec '" + file + "' is not a file. Give the path of an app spec in YAML.");
      }
      if (Files.size(file) > MAX_BYTES) {
        throw new IllegalArgumentException(
            "--app-spec '" + file + "' is larger than 1 MiB; an app spec is a short YAML file.");
      }
      yaml = Files.readString(file, StandardCharsets.UTF_8);
    } catch (IOException e) {
      throw new IllegalArgumentException(
          "--app-spec '" + file + "' could not be read: " + e.getMessage(), e);
    }
    try {
      return AppSpec.fromYaml(yaml, component);
    } catch (BuildpackException e) {
      throw new IllegalArgumentException(
          "--app-spec '" + file + "': " + e.getMessage() + " [" + e.code() + "]", e);
    }
  }

  /** The app spec as it travels in a push event. */
  static dev.kiln.events.AppSpec toEvent(AppSpec spec) {
    return new dev.kiln.events.AppSpec(
        spec.sourceDir(),
        spec.dockerfilePath(),
        spec.buildCommand(),
        spec.runCommand(),
        spec.envs().stream()
            .map(
                env ->
                    new dev.kiln.events.AppSpec.EnvVar(
                        env.key(),
                        env.value(),
                        dev.kiln.events.AppSpec.Scope.valueOf(env.scope().name())))
            .toList(),
        spec.processes());
  }
}
