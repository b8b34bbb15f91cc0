package dev.kiln.cli;

import dev.kiln.images.KilnClasspath;
import dev.kiln.images.KilnImage;
import dev.kiln.images.KilnImageException;
import java.io.IOException;
import java.io.PrintWriter;
import java.nio.file.Path;
import java.util.concurrent.Callable;
import picocli.CommandLine;
import picocli.CommandLine.ArgGroup;
import picocli.CommandLine.Command;
import picocli.CommandLine.Model.CommandSpec;
import picocli.CommandLine.Option;
import picocli.CommandLine.Spec;

/** {@code kiln image build}: the container image of Kiln itself. */
@Command(
    name = "image",
    mixinStandardHelpOptions = true,
    description = "Container images of Kiln itself.",
    subcommands = {ImageCommand.Build.class, CommandLine.HelpCommand.class})
public final class ImageCommand implements Runnable {
  @Spec CommandSpec spec;

  @Override
  public void run() {
    spec.commandLine().usage(spec.commandLine().getOut());
  }

  /** Builds the image from the classpath this {@code kiln} runs from. */
  @Command(
      name = "build",
      mixinStandardHelpOptions = true,
      description = {
        "Build the container image of Kiln from the jars this kiln runs from, on a base built on",
        "this machine (debootstrap Debian bookworm + python3, git, bubblewrap + a jlink'd JRE; no",
        "pulls; built once and cached in --cache, needs root the first time). The image runs",
        "`kiln <subcommand>`: docker run --rm kiln:dev --version."
      })
  public static final class Build implements Callable<Integer> {
    @Spec CommandSpec spec;

    @Option(
        names = "--tag",
        paramLabel = "NAME:TAG",
        defaultValue = KilnImage.DEFAULT_TAG,
        description = "The image's name. Default: ${DEFAULT-VALUE}")
    String tag;

    @ArgGroup(exclusive = true)
    Destination destination = new Destination();

    static final class Destination {
      @Option(
          names = "--to-docker",
          description = "Load it into the local Docker daemon (the default)")
      boolean docker;

      @Option(
          names = "--to-tarball",
          paramLabel = "PATH",
          description = "Write a docker-save tarball for `docker load -i PATH` instead")
      Path tarball;
    }

    @Option(
        names = "--cache",
        paramLabel = "DIR",
        defaultValue = "${env:KILN_IMAGE_CACHE:-/var/cache/kiln/images}",
        description =
            "Where the base image and jib's layer caches are kept. Env: KILN_IMAGE_CACHE."
                + " Default: ${DEFAULT-VALUE}")
    Path cache;

    @Override
    public Integer call() throws Exception {
      PrintWriter out = spec.commandLine().getOut();
      KilnImage.Target target =
          destination.tarball != null
              ? new KilnImage.Target.Tarball(destination.tarball, tag)
              : new KilnImage.Target.Docker(tag);
      KilnClasspath classpath;
      try {
        classpath = KilnClasspath.ofRunningJvm();
      } catch (IOException | IllegalArgumentException e) {
        throw new UserError("Cannot read the classpath kiln runs from: " + e.getMessage(), 1);
      }
      try {
        KilnImage.Built built =
            new KilnImage(
                    cache,
                    line -> {
                      out.println(line);
                      out.flush();
                    })
                .build(classpath, target);
        out.println(
            "Built "
                + built.tag()
                + " "
                + built.digest()
                + (destination.tarball != null
                    ? " in " + destination.tarball + " (docker load -i " + destination.tarball + ")"
                    : " into the Docker daemon (docker run --rm " + built.tag() + " --help)"));
        return 0;
      } catch (KilnImageException | IllegalStateException e) {
        throw new UserError(e.getMessage(), 1);
      }
    }
  }
}
