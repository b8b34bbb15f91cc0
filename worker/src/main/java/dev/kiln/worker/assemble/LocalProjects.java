package dev.kiln.worker.assemble;

import dev.kiln.buildpack.BuildStepEnvironment;
import dev.kiln.events.DependencyLayer;
import dev.kiln.events.Digest;
import dev.kiln.installer.InstallerException;
import dev.kiln.installer.TargetEnvironment;
import dev.kiln.installer.wheel.WheelFragment;
import dev.kiln.installer.wheel.WheelFragments;
import dev.kiln.worker.fs.AppTree;
import dev.kiln.worker.install.PipTool;
import dev.kiln.worker.install.SourceBuilds;
import dev.kiln.worker.steps.LogSink;
import dev.kiln.worker.steps.StepFailure;
import java.io.IOException;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.List;
import java.util.Objects;

/**
 * The app's own projects ({@code .}, {@code -e .}, a setup.py-only app, a packaged uv or Poetry
 * root): built as wheels from the app's source in the build sandbox, on a copy so build leftovers
 * ({@code build/}, {@code *.egg-info}) stay out of the image, and unpacked like any wheel into
 * {@code /app/.kiln/site-packages} in the app layer, never the shared dependency layer.
 *
 * <p>Editable ({@code -e}) and regular projects are installed the same way: nothing edits an
 * image's source after the build, {@code /app} comes first on {@code PYTHONPATH} so the app's
 * modules import from {@code /app} as with pip's editable install, and the wheel brings the
 * metadata and console scripts.
 */
final class LocalProjects {
  static final String DIRECTORY =
      BuildStepEnvironment.LOCAL_PROJECTS_DIR.substring(
          (BuildStepEnvironment.APP_DIR + "/").length());

  private final SourceBuilds builds;
  private final PipTool pipTool;

  LocalProjects(SourceBuilds builds, PipTool pipTool) {
    this.builds = Objects.requireNonNull(builds, "builds");
    this.pipTool = Objects.requireNonNull(pipTool, "pipTool");
  }

  /**
   * Builds and installs {@code projects} into {@code app} (the private copy that becomes the app
   * layer). Returns what was installed, as {@code name==version}.
   */
  List<String> install(
      List<DependencyLayer.LocalProject> projects,
      Path app,
      Path rootfs,
      TargetEnvironment target,
      Path scratch,
      LogSink log)
      throws StepFailure {
    Path pip = pipTool.forTarget(target, log);
    WheelFragments unpacker = new WheelFragments(target);
    Path destination = app.resolve(DIRECTORY);
    List<String> installed = new ArrayList<>();
    try {
      int n = 0;
      for (DependencyLayer.LocalProject project : projects) {
        n++;
        log.info(
            "-----> Building the local project "
                + project.path()
                + (project.editable() ? " (editable)" : "")
                + " into the app layer");
        Path source = Files.createDirectories(scratch.resolve("project-source-" + n));
        AppTree.copy(app, source);
        Path output = Files.createDirectories(scratch.resolve("project-wheel-" + n));
        Path wheel = builds.localProject(rootfs, pip, source, project.path(), output, log);
        WheelFragment fragment;
        try {
          fragment =
              unpacker.unpack(wheel, Digest.compute(wheel), scratch.resolve("project-unpack-" + n));
        } catch (InstallerException e) {
          throw new StepFailure(
              e.code(),
              "the wheel built from " + project.path() + " is not installable: " + e.getMessage(),
              e);
        }
        Files.createDirectories(destination);
        List<String> skipped = MaterializedLayers.unpack(fragment.tar(), destination);
        skipped.forEach(note -> log.warn("       " + note));
        installed.add(fragment.requirement());
        log.info(
            "       Installed "
                + fragment.requirement()
                + " in "
                + BuildStepEnvironment.LOCAL_PROJECTS_DIR);
      }
      return installed;
    } catch (IOException e) {
      throw new StepFailure(
          AssembleStep.FAILED, "Could not install the app's local projects: " + e.getMessage(), e);
    }
  }
}
