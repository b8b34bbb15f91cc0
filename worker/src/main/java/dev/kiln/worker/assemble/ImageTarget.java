package dev.kiln.worker.assemble;

import com.google.cloud.tools.jib.api.Containerizer;
import com.google.cloud.tools.jib.api.DockerDaemonImage;
import com.google.cloud.tools.jib.api.ImageReference;
import com.google.cloud.tools.jib.api.InvalidImageReferenceException;
import com.google.cloud.tools.jib.api.Jib;
import com.google.cloud.tools.jib.api.JibContainerBuilder;
import com.google.cloud.tools.jib.api.RegistryImage;
import com.google.cloud.tools.jib.api.TarImage;
import com.google.cloud.tools.jib.api.buildplan.ImageFormat;
import dev.kiln.events.Digest;
import dev.kiln.worker.runtime.Registries;
import dev.kiln.worker.runtime.RuntimeImageReference;
import java.io.IOException;
import java.io.UncheckedIOException;
import java.nio.file.Files;
import java.nio.file.InvalidPathException;
import java.nio.file.Path;
import java.nio.file.StandardCopyOption;
import java.util.Objects;
import java.util.Optional;
import java.util.function.Consumer;
import java.util.regex.Pattern;

/**
 * Where built images go. Every build of tenant {@code t}, app {@code a}, commit {@code c} gets one
 * name there:
 *
 * <ul>
 *   <li>{@link #registry(String) registry HOST[:PORT]} — pushed as {@code HOST/t/a:<c, 12 chars>};
 *       plain HTTP for a loopback registry, HTTPS otherwise;
 *   <li>{@link #tarballs(Path) tarballs DIR} — written to {@code DIR/t/a/c.tar}, loadable with
 *       {@code docker load} (image {@code t/a:<c, 12 chars>}); the file appears complete or not at
 *       all;
 *   <li>{@link #ociLayouts(Path) oci-layouts DIR} — added to the OCI image layout {@code DIR/t/a/}
 *       under the tag {@code <c, 12 chars>} ({@code oci:DIR/t/a:<tag>}), sharing blobs between the
 *       app's images;
 *   <li>{@link #dockerDaemon() docker} — loaded into the local Docker daemon as {@code t/a:<c, 12
 *       chars>}.
 * </ul>
 */
public abstract sealed class ImageTarget {
  private static final Pattern NAME = Pattern.compile("[a-z0-9]([a-z0-9-]{0,61}[a-z0-9])?");
  private static final Pattern COMMIT = Pattern.compile("[0-9a-f]{40}|[0-9a-f]{64}");
  static final int TAG_LENGTH = 12;

  private ImageTarget() {}

  /** Push to the registry at {@code hostAndPort}, e.g. {@code localhost:5000}. */
  public static ImageTarget registry(String hostAndPort) {
    return new Registry(hostAndPort);
  }

  /** Write {@code docker load}-able tarballs under {@code directory}. */
  public static ImageTarget tarballs(Path directory) {
    return new Tarballs(directory);
  }

  /**
   * Write each app's images into one OCI image layout, {@code DIR/<tenant>/<app>/}: blobs the
   * layout holds already (the base's layers, an unchanged dependency layer) are kept once.
   */
  public static ImageTarget ociLayouts(Path directory) {
    return new OciLayouts(directory);
  }

  /** Load into the local Docker daemon (the {@code docker} command on the PATH). */
  public static ImageTarget dockerDaemon() {
    return new DockerDaemon();
  }

  /**
   * Parses {@code registry:HOST[:PORT]}, {@code tarballs:DIR} or {@code docker}.
   *
   * @throws IllegalArgumentException naming what is wrong and the accepted forms
   */
  public static ImageTarget parse(String spec) {
    if (spec == null || spec.isBlank()) {
      throw new IllegalArgumentException("image target is empty; " + FORMS);
    }
    String trimmed = spec.strip();
    if (trimmed.equals("docker")) {
      return dockerDaemon();
    }
    if (trimmed.startsWith("registry:")) {
      return registry(trimmed.substring("registry:".length()));
    }
    if (trimmed.startsWith("oci-layouts:")) {
      String directory = trimmed.substring("oci-layouts:".length());
      if (directory.isEmpty()) {
        throw new IllegalArgumentException(
            "image target '" + trimmed + "' names no directory; " + FORMS);
      }
      try {
        return ociLayouts(Path.of(directory));
      } catch (InvalidPathException e) {
        throw new IllegalArgumentException(
            "image target '" + trimmed + "' has an invalid directory: " + e.getMessage(), e);
      }
    }
    if (trimmed.startsWith("tarballs:")) {
      String directory = trimmed.substring("tarballs:".length());
      if (directory.isEmpty()) {
        throw new IllegalArgumentException(
            "image target '" + trimmed + "' names no directory; " + FORMS);
      }
      try {
        return tarballs(Path.of(directory));
      } catch (InvalidPathException e) {
        throw new IllegalArgumentException(
            "image target '" + trimmed + "' has an invalid directory: " + e.getMessage(), e);
      }
    }
    throw new IllegalArgumentException(
        "image target '" + trimmed + "' is not understood; " + FORMS);
  }

  private static final String FORMS =
      "use registry:HOST[:PORT] (push to a registry), tarballs:DIR (write docker-load tarballs),"
          + " oci-layouts:DIR (one OCI image layout per app) or docker (load into the local Docker"
          + " daemon)";

  /** The name a build's image gets at this target. */
  public String referenceFor(String tenant, String app, String commit) {
    return referenceFor(tenant, app, commit, false);
  }

  /**
   * The name a build's image gets at this target; a CI build's image is tagged {@code ci-<commit>},
   * so it never takes the place of the image deployers run.
   */
  public abstract String referenceFor(String tenant, String app, String commit, boolean ci);

  /**
   * Starts delivering one build's image; the caller must {@link Delivery#complete()} or abandon.
   */
  abstract Delivery open(String tenant, String app, String commit, boolean ci);

  /** Starts delivering a normal (not CI) build's image. */
  Delivery open(String tenant, String app, String commit) {
    return open(tenant, app, commit, false);
  }

  /** The tag of a build's image: the commit's first 12 characters, after {@code ci-} for CI. */
  static String tag(String commit, boolean ci) {
    return (ci ? "ci-" : "") + commit.substring(0, TAG_LENGTH);
  }

  /** One image on its way to the target. */
  interface Delivery {
    Containerizer containerizer();

    /** What jib builds on: the base itself, unless the target keeps a faster copy of it. */
    default JibContainerBuilder base(RuntimeImageReference base) throws IOException {
      return base.jibBase();
    }

    /**
     * What jib builds on when the image has a dependency layer: the base with that layer already on
     * top, when the target can take the stored layer as it is; empty when jib must build the layer
     * from the unpacked tree.
     *
     * @param notes receives a line for each entry left out of the layer
     */
    default Optional<JibContainerBuilder> baseWithDependencies(
        RuntimeImageReference base, Digest blob, LayerBlobSource blobs, Consumer<String> notes)
        throws IOException {
      return Optional.empty();
    }

    /** The digest the target holds the image under, given the one jib computed. */
    default Digest digest(Digest computedByJib) throws IOException {
      return computedByJib;
    }

    ImageFormat format();

    /** Whether jib must be allowed to use plain HTTP to reach the target. */
    boolean plainHttp();

    /** Where the image goes, for the build log and error messages. */
    String describe();

    /** Makes the image visible at the target; returns its reference. */
    String complete() throws IOException;

    /** Removes anything a failed build left behind. */
    void abandon();
  }

  static ImageReference imageName(
      String registry, String tenant, String app, String commit, boolean ci) {
    requireName("tenant", tenant);
    requireName("app", app);
    if (commit == null || !COMMIT.matcher(commit).matches()) {
      throw new IllegalArgumentException(
          "commit '"
              + commit
              + "' is not a full git commit id (40 or 64 lowercase hex characters)");
    }
    return ImageReference.of(registry, tenant + "/" + app, tag(commit, ci));
  }

  private static void requireName(String what, String value) {
    if (value == null || !NAME.matcher(value).matches()) {
      throw new IllegalArgumentException(
          what
              + " '"
              + value
              + "' cannot be part of an image name; "
              + "use 1-63 lowercase letters, digits and '-'");
    }
  }

  static final class Registry extends ImageTarget {
    private final String hostAndPort;

    Registry(String hostAndPort) {
      Objects.requireNonNull(hostAndPort, "hostAndPort");
      String trimmed = hostAndPort.strip();
      if (trimmed.isEmpty() || trimmed.contains("/") || !ImageReference.isValidRegistry(trimmed)) {
        throw new IllegalArgumentException(
            "registry '"
                + hostAndPort
                + "' is not HOST or "
                + "HOST:PORT (e.g. localhost:5000 or registry.example.com); give only the registry, "
                + "Kiln names the repositories itself (<tenant>/<app>)");
      }
      this.hostAndPort = trimmed;
    }

    @Override
    public String referenceFor(String tenant, String app, String commit, boolean ci) {
      return imageName(hostAndPort, tenant, app, commit, ci).toString();
    }

    @Override
    Delivery open(String tenant, String app, String commit, boolean ci) {
      ImageReference name = imageName(hostAndPort, tenant, app, commit, ci);
      return new Delivery() {
        @Override
        public Containerizer containerizer() {
          return Containerizer.to(Registries.withDockerCredentials(name));
        }

        @Override
        public ImageFormat format() {
          return ImageFormat.OCI;
        }

        @Override
        public boolean plainHttp() {
          return Registries.isLoopback(hostAndPort);
        }

        @Override
        public String describe() {
          return "registry " + hostAndPort + " as " + name;
        }

        @Override
        public String complete() {
          return name.toString();
        }

        @Override
        public void abandon() {}
      };
    }

    @Override
    public String toString() {
      return "registry:" + hostAndPort;
    }
  }

  static final class Tarballs extends ImageTarget {
    private final Path directory;

    Tarballs(Path directory) {
      this.directory = Objects.requireNonNull(directory, "directory").toAbsolutePath().normalize();
    }

    /** {@code DIR/<tenant>/<app>/<commit>.tar} */
    Path tarballFor(String tenant, String app, String commit, boolean ci) {
      imageName(null, tenant, app, commit, ci);
      return directory.resolve(tenant).resolve(app).resolve((ci ? "ci-" : "") + commit + ".tar");
    }

    @Override
    public String referenceFor(String tenant, String app, String commit, boolean ci) {
      return RuntimeImageReference.TAR_PREFIX + tarballFor(tenant, app, commit, ci);
    }

    @Override
    Delivery open(String tenant, String app, String commit, boolean ci) {
      ImageReference name = imageName(null, tenant, app, commit, ci);
      Path destination = tarballFor(tenant, app, commit, ci);
      Path temporary;
      try {
        Files.createDirectories(destination.getParent());
        // Next to the destination so the final move is a rename on the same file system.
        temporary = Files.createTempFile(destination.getParent(), "." + commit + ".", ".tar.tmp");
      } catch (IOException e) {
        throw new UncheckedIOException(
            "cannot write image tarballs under "
                + destination.getParent()
                + ": "
                + e.getMessage()
                + "; check that the directory is writable by the worker",
            e);
      }
      return new Delivery() {
        @Override
        public Containerizer containerizer() {
          return Containerizer.to(TarImage.at(temporary).named(name));
        }

        @Override
        public ImageFormat format() {
          return ImageFormat.Docker;
        }

        @Override
        public boolean plainHttp() {
          return false;
        }

        @Override
        public String describe() {
          return "tarball " + destination + " (docker load gives " + name + ")";
        }

        @Override
        public String complete() throws IOException {
          Files.move(
              temporary,
              destination,
              StandardCopyOption.ATOMIC_MOVE,
              StandardCopyOption.REPLACE_EXISTING);
          return RuntimeImageReference.TAR_PREFIX + destination;
        }

        @Override
        public void abandon() {
          try {
            Files.deleteIfExists(temporary);
          } catch (IOException e) {
            // Only a hidden .tmp file stays behind; the build's own error is what matters.
          }
        }
      };
    }

    @Override
    public String toString() {
      return "tarballs:" + directory;
    }
  }

  static final class OciLayouts extends ImageTarget {
    /** How an image in a layout is named: {@code oci:<layout directory>:<tag>}, as skopeo does. */
    static final String PREFIX = "oci:";

    private final Path directory;
    private LayoutRegistry registry;

    OciLayouts(Path directory) {
      this.directory = Objects.requireNonNull(directory, "directory").toAbsolutePath().normalize();
    }

    /** {@code DIR/<tenant>/<app>} */
    Path layoutFor(String tenant, String app, String commit) {
      imageName(null, tenant, app, commit, false);
      return directory.resolve(tenant).resolve(app);
    }

    @Override
    public String referenceFor(String tenant, String app, String commit, boolean ci) {
      return PREFIX + layoutFor(tenant, app, commit) + ":" + tag(commit, ci);
    }

    /** jib writes into the layouts by pushing to them, started with the first image. */
    private synchronized LayoutRegistry registry() {
      if (registry == null) {
        try {
          registry = LayoutRegistry.start(directory);
        } catch (IOException e) {
          throw new UncheckedIOException(
              "cannot serve the image layouts under "
                  + directory
                  + " to jib: "
                  + e.getMessage()
                  + "; check that the directory is writable by the worker",
              e);
        }
      }
      return registry;
    }

    @Override
    Delivery open(String tenant, String app, String commit, boolean ci) {
      String reference = referenceFor(tenant, app, commit, ci);
      ImageReference name = imageName(registry().hostAndPort(), tenant, app, commit, ci);
      return new Delivery() {
        @Override
        public Containerizer containerizer() {
          return Containerizer.to(RegistryImage.named(name));
        }

        @Override
        public JibContainerBuilder base(RuntimeImageReference base) throws IOException {
          if (base instanceof RuntimeImageReference.Tarball tarball) {
            // From the registry, jib reads only the base's manifest and config: no extracting,
            // hashing or compressing 40 MB of tarball on every build.
            try {
              return Jib.from(RegistryImage.named(registry().base(tarball.path())));
            } catch (InvalidImageReferenceException e) {
              throw new IOException("the imported base has no valid name: " + e.getMessage(), e);
            }
          }
          return base.jibBase();
        }

        @Override
        public Optional<JibContainerBuilder> baseWithDependencies(
            RuntimeImageReference base, Digest blob, LayerBlobSource blobs, Consumer<String> notes)
            throws IOException {
          if (!(base instanceof RuntimeImageReference.Tarball tarball)) {
            return Optional.empty();
          }
          try {
            return Optional.of(
                Jib.from(
                    RegistryImage.named(
                        registry()
                            .baseWithDependencies(
                                tarball.path(), blob, blobs, tenant + "/" + app, notes))));
          } catch (InvalidImageReferenceException e) {
            throw new IOException("the imported base has no valid name: " + e.getMessage(), e);
          }
        }

        @Override
        public Digest digest(Digest computedByJib) throws IOException {
          // The layout may hold a corrected manifest (see LayoutRegistry#uncompressedLayersNamed).
          String stored = registry().layout(tenant + "/" + app).manifestOf(tag(commit, ci));
          return stored == null ? computedByJib : Digest.of(stored);
        }

        @Override
        public ImageFormat format() {
          return ImageFormat.OCI;
        }

        @Override
        public boolean plainHttp() {
          return true; // the layout registry listens on loopback only
        }

        @Override
        public String describe() {
          return "OCI image layout "
              + layoutFor(tenant, app, commit)
              + " as "
              + name.getTag().orElseThrow();
        }

        @Override
        public String complete() {
          return reference;
        }

        @Override
        public void abandon() {
          // Blobs a failed push left are content-addressed and named by no tag: nothing to undo.
        }
      };
    }

    @Override
    public String toString() {
      return "oci-layouts:" + directory;
    }
  }

  static final class DockerDaemon extends ImageTarget {
    @Override
    public String referenceFor(String tenant, String app, String commit, boolean ci) {
      return RuntimeImageReference.DOCKER_PREFIX + imageName(null, tenant, app, commit, ci);
    }

    @Override
    Delivery open(String tenant, String app, String commit, boolean ci) {
      ImageReference name = imageName(null, tenant, app, commit, ci);
      return new Delivery() {
        @Override
        public Containerizer containerizer() {
          return Containerizer.to(DockerDaemonImage.named(name));
        }

        @Override
        public ImageFormat format() {
          return ImageFormat.Docker;
        }

        @Override
        public boolean plainHttp() {
          return false;
        }

        @Override
        public String describe() {
          return "the local Docker daemon as " + name;
        }

        @Override
        public String complete() {
          return RuntimeImageReference.DOCKER_PREFIX + name;
        }

        @Override
        public void abandon() {}
      };
    }

    @Override
    public String toString() {
      return "docker";
    }
  }
}
