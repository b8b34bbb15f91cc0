package dev.kiln.worker.install;

import dev.kiln.cache.client.CacheServiceClient;
import dev.kiln.cache.client.CacheServiceClient.Scope;
import dev.kiln.cache.client.CacheServiceClientException;
import dev.kiln.events.ActionResults;
import dev.kiln.events.DependencyLayer;
import dev.kiln.events.Digest;
import dev.kiln.events.EventCodec;
import dev.kiln.installer.ArtifactFile;
import dev.kiln.installer.InstallerException;
import dev.kiln.installer.ResolvedSet;
import dev.kiln.installer.TargetEnvironment;
import dev.kiln.installer.wheel.ConcatenatedLayer;
import dev.kiln.installer.wheel.FragmentBytecode;
import dev.kiln.installer.wheel.LayerConcatenation;
import dev.kiln.installer.wheel.WheelFragment;
import dev.kiln.installer.wheel.WheelFragments;
import dev.kiln.worker.assemble.DependencyImageLayer;
import dev.kiln.worker.steps.LogSink;
import dev.kiln.worker.steps.StepFailure;
import java.io.IOException;
import java.net.URI;
import java.nio.ByteBuffer;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.LinkOption;
import java.nio.file.Path;
import java.nio.file.StandardCopyOption;
import java.security.MessageDigest;
import java.util.ArrayList;
import java.util.List;
import java.util.Objects;
import java.util.Optional;

/**
 * A dependency layer built without a package manager: every wheel of the resolved set is unpacked
 * once per (wheel hash, target Python minor, layout version) into a stored fragment, and the layer
 * is the fragments concatenated in the set's order. A set whose wheels were all seen before, by any
 * build of any tenant, costs a concatenation and a hash. An sdist is built into a wheel once per
 * (sdist hash, target Python, platform) and then treated like any wheel.
 *
 * <p>Fragments are kept on the worker's disk under {@code <workDir>/fragments/<digest>.tar} as well
 * as in the CAS, so the usual case reads no fragment over the network.
 */
final class LayerBuilder {
  static final String FRAGMENT_KEY_VERSION = "kiln-fragment-key-v1";
  static final String BUILT_WHEEL_KEY_VERSION = "kiln-built-wheel-v1";

  /** Builds a wheel from an sdist file; the sandbox's pip does it in a real farm. */
  interface SdistWheels {
    Path build(ResolvedSet.Chosen sdist, Path sdistFile, Path outputDir, LogSink log)
        throws StepFailure;
  }

  /**
   * Compiles the Python sources under each top-level directory of a tree to {@code
   * __pycache__/*.pyc}, with the target's own interpreter (the build sandbox does it).
   */
  interface Bytecode {
    void compile(Path trees, LogSink log) throws StepFailure;
  }

  /** What the build did, for the log. */
  record Counts(int fetched, int unpacked, int reused, int builtFromSource, boolean bytecode) {}

  record Built(DependencyLayer layer, Counts counts) {}

  private final CacheServiceClient cache;
  private final Path fragmentsDir;

  LayerBuilder(CacheServiceClient cache, Path workDir) {
    this.cache = Objects.requireNonNull(cache, "cache");
    this.fragmentsDir = workDir.resolve("fragments");
  }

  /**
   * @param key the action-cache key the layer is filed under besides its set's own
   * @param sourceRoot the app's source directory, for distribution files committed to it
   * @param sdists builds an sdist's wheel, or null when this worker cannot (no sandbox)
   */
  Built build(
      String key,
      ResolvedSet set,
      TargetEnvironment target,
      Path sourceRoot,
      SdistWheels sdists,
      Bytecode bytecode,
      Path scratch,
      LogSink log)
      throws StepFailure {
    WheelFragments unpacker = new WheelFragments(target);
    boolean compiled = bytecode != null;
    List<DependencyLayer.Distribution> resolved = new ArrayList<>();
    ActionResults.WheelFragment[] fragments =
        new ActionResults.WheelFragment[set.distributions().size()];
    List<Fresh> fresh = new ArrayList<>();
    int fetched = 0;
    int reused = 0;
    int built = 0;
    try {
      Files.createDirectories(fragmentsDir);
      for (int i = 0; i < set.distributions().size(); i++) {
        ResolvedSet.Chosen chosen = set.distributions().get(i);
        ArtifactFile wheel = chosen.file();
        Digest builtWheel = null;
        Path wheelFile = null;
        if (!wheel.isWheel()) {
          BuiltFromSdist fromSdist =
              wheelFromSdist(chosen, target, sourceRoot, sdists, scratch, log);
          builtWheel = fromSdist.wheel().sha256();
          wheel = fromSdist.wheel();
          wheelFile = fromSdist.file();
          if (fromSdist.fresh()) {
            built++;
          }
        }
        resolved.add(
            new DependencyLayer.Distribution(
                chosen.name(),
                chosen.version(),
                chosen.file().filename(),
                chosen.file().sha256(),
                builtWheel));
        String fragmentKey = fragmentKey(wheel.sha256(), target.pythonMinor(), compiled);
        Optional<ActionResults.WheelFragment> known = knownFragment(fragmentKey);
        if (known.isPresent() && localFragment(known.get().blob()).isPresent()) {
          fragments[i] = known.get();
          reused++;
          continue;
        }
        if (wheelFile == null) {
          wheelFile = fetch(wheel, sourceRoot, scratch);
          fetched++;
        }
        WheelFragment unpacked;
        try {
          unpacked = unpacker.unpack(wheel, wheelFile, scratch.resolve("unpack"));
        } catch (InstallerException e) {
          throw new StepFailure(
              e.code(),
              chosen.name()
                  + " "
                  + chosen.version()
                  + " ("
                  + wheel.filename()
                  + "): "
                  + e.getMessage(),
              e);
        }
        for (WheelFragment.Warning warning : unpacked.warnings()) {
          log.warn(" !     " + warning.code() + ": " + warning.message());
        }
        fresh.add(new Fresh(i, wheel, fragmentKey, unpacked));
      }
      if (!fresh.isEmpty()) {
        List<Path> tars = compiled ? compile(fresh, bytecode, scratch, log) : null;
        for (int n = 0; n < fresh.size(); n++) {
          Fresh f = fresh.get(n);
          Path tar = compiled ? tars.get(n) : f.fragment().tar();
          Digest digest = compiled ? Digest.compute(tar) : f.fragment().sha256();
          Path stored = fragmentsDir.resolve(digest.hex() + ".tar");
          Files.move(tar, stored, StandardCopyOption.REPLACE_EXISTING);
          Scope fragmentScope = tenantOwned(f.wheel()) ? Scope.TENANT : Scope.PUBLIC;
          putBlob(stored, digest, fragmentScope);
          ActionResults.WheelFragment fragment =
              new ActionResults.WheelFragment(
                  f.wheel().sha256(),
                  f.wheel().filename(),
                  f.fragment().distribution(),
                  f.fragment().version(),
                  digest,
                  Files.size(stored),
                  f.fragment().topLevelNames(),
                  f.fragment().scripts());
          putAction(f.key(), EventCodec.mapper().writeValueAsString(fragment), fragmentScope);
          fragments[f.index()] = fragment;
        }
      }
      List<Path> fragmentTars = new ArrayList<>();
      List<String> installed = new ArrayList<>();
      for (ActionResults.WheelFragment fragment : fragments) {
        fragmentTars.add(fragmentsDir.resolve(fragment.blob().hex() + ".tar"));
        installed.add(fragment.distribution() + "==" + fragment.version());
      }
      Path layerTar = scratch.resolve("layer.tar");
      ConcatenatedLayer layer;
      try {
        layer = LayerConcatenation.concatenate(fragmentTars, layerTar);
      } catch (InstallerException e) {
        throw new StepFailure(
            e.code(), "the stored fragments could not be joined: " + e.getMessage(), e);
      }
      for (ConcatenatedLayer.Overlap overlap : layer.overlaps()) {
        log.warn(
            " !     "
                + set.distributions().get(overlap.laterFragment()).name()
                + " replaces "
                + overlap.path()
                + " installed by "
                + set.distributions().get(overlap.earlierFragment()).name()
                + " (pip would do the same: the later one wins)");
      }
      // Stored as images hold it, so the stored blob is the layer an image references.
      Path imageTar = scratch.resolve("image-layer.tar");
      DependencyImageLayer.Written image = DependencyImageLayer.write(layer.tar(), imageTar);
      Files.deleteIfExists(layer.tar());
      for (String note : image.skipped()) {
        log.warn(" !     " + note);
      }
      Digest stored = Digest.ofHex(image.hex());
      putBlob(imageTar, stored, scopeOf(set));
      Files.deleteIfExists(imageTar);
      DependencyLayer result =
          new DependencyLayer(
              key,
              stored,
              image.size(),
              installed.stream().sorted().toList(),
              false,
              set.digest(target.pythonMinor(), layoutVersion(compiled)),
              resolved,
              set.localProjects().stream()
                  .map(p -> new DependencyLayer.LocalProject(p.path(), p.editable()))
                  .toList());
      return new Built(result, new Counts(fetched, fresh.size(), reused, built, compiled));
    } catch (IOException e) {
      throw new StepFailure(
          InstallStep.FAILED,
          "the worker could not write the dependency layer: "
              + e.getMessage()
              + "; check free space and permissions of "
              + fragmentsDir.getParent(),
          e);
    }
  }

  /** A wheel unpacked in this build, before its bytecode is added and it is stored. */
  private record Fresh(int index, ArtifactFile wheel, String key, WheelFragment fragment) {}

  /** The layout a resolved set's layer has: fragments with or without bytecode. */
  static String layoutVersion(boolean bytecode) {
    return WheelFragments.LAYOUT_VERSION + (bytecode ? "+bytecode" : "");
  }

  /**
   * Compiles the fresh fragments' sources in one sandbox run (a fresh interpreter per fragment) and
   * writes each fragment again with its bytecode; returns the new tars in the same order.
   */
  private static List<Path> compile(List<Fresh> fresh, Bytecode bytecode, Path scratch, LogSink log)
      throws StepFailure, IOException {
    Path trees = Files.createDirectories(scratch.resolve("compile"));
    for (int n = 0; n < fresh.size(); n++) {
      FragmentBytecode.extractSources(
          fresh.get(n).fragment().tar(), trees.resolve(Integer.toString(n)));
    }
    bytecode.compile(trees, log);
    List<Path> tars = new ArrayList<>();
    for (int n = 0; n < fresh.size(); n++) {
      FragmentBytecode.Written written =
          FragmentBytecode.withBytecode(
              fresh.get(n).fragment().tar(),
              trees.resolve(Integer.toString(n)),
              scratch.resolve("bytecode"));
      Files.deleteIfExists(fresh.get(n).fragment().tar());
      tars.add(written.tar());
    }
    return tars;
  }

  /** The action-cache key of a wheel's fragment. */
  static String fragmentKey(Digest wheel, String pythonMinor, boolean bytecode) {
    return key(FRAGMENT_KEY_VERSION, layoutVersion(bytecode), wheel.hex(), pythonMinor);
  }

  /** The action-cache key of the wheel built from an sdist for a target. */
  static String builtWheelKey(Digest sdist, TargetEnvironment target) {
    return key(
        BUILT_WHEEL_KEY_VERSION,
        sdist.hex(),
        target.pythonVersion(),
        target.glibc(),
        target.machine());
  }

  private static String key(String... fields) {
    MessageDigest sha256 = Digest.newSha256();
    for (String field : fields) {
      byte[] bytes = field.getBytes(StandardCharsets.UTF_8);
      sha256.update(ByteBuffer.allocate(Long.BYTES).putLong(bytes.length).array());
      sha256.update(bytes);
    }
    return Digest.fromSha256(sha256).hex();
  }

  private record BuiltFromSdist(ArtifactFile wheel, Path file, boolean fresh) {}

  private BuiltFromSdist wheelFromSdist(
      ResolvedSet.Chosen sdist,
      TargetEnvironment target,
      Path sourceRoot,
      SdistWheels sdists,
      Path scratch,
      LogSink log)
      throws StepFailure, IOException {
    String key = builtWheelKey(sdist.file().sha256(), target);
    Optional<String> json = getAction(key);
    if (json.isPresent()) {
      try {
        ActionResults.BuiltWheel known =
            EventCodec.mapper().readValue(json.get(), ActionResults.BuiltWheel.class);
        Path file = scratch.resolve("built").resolve(known.wheelFilename());
        if (getBlob(known.wheel(), file)) {
          log.info(
              "       "
                  + sdist.name()
                  + " "
                  + sdist.version()
                  + ": using the wheel built from its sdist earlier");
          return new BuiltFromSdist(
              new ArtifactFile(
                  known.wheelFilename(),
                  known.wheel(),
                  tenantOwned(sdist.file()) ? sdist.file().url() : null,
                  known.size()),
              file,
              false);
        }
      } catch (IOException | IllegalArgumentException unreadable) {
        log.warn("       The stored wheel of " + sdist.name() + " is unreadable; building again");
      }
    }
    if (sdists == null) {
      throw new StepFailure(
          dev.kiln.worker.buildsteps.BuildStepRunner.SANDBOX_UNAVAILABLE,
          sdist.name()
              + " "
              + sdist.version()
              + " has only an sdist ("
              + sdist.file().filename()
              + ") for this Python, and this worker runs no build sandbox to build it in. Start"
              + " the workers with the build sandbox, or pin a version that publishes a wheel.");
    }
    Path input = Files.createDirectories(scratch.resolve("sdist-in"));
    Path sdistFile = fetch(sdist.file(), sourceRoot, input);
    Path output = Files.createDirectories(scratch.resolve("sdist-out-" + sdist.normalizedName()));
    log.info(
        "-----> Building "
            + sdist.name()
            + " "
            + sdist.version()
            + " from its sdist (no wheel fits this Python); the wheel is kept for every later"
            + " build");
    Path wheel = sdists.build(sdist, sdistFile, output, log);
    Digest digest = Digest.of(sha256Hex(wheel));
    long size = Files.size(wheel);
    Scope builtScope = tenantOwned(sdist.file()) ? Scope.TENANT : Scope.PUBLIC;
    putBlob(wheel, digest, builtScope);
    putAction(
        key,
        EventCodec.mapper()
            .writeValueAsString(
                new ActionResults.BuiltWheel(
                    sdist.file().sha256(),
                    sdist.file().filename(),
                    digest,
                    wheel.getFileName().toString(),
                    size)),
        builtScope);
    // A wheel built from the tenant's own sdist stays the tenant's: it keeps the sdist's origin.
    String origin = builtScope == Scope.TENANT ? sdist.file().url() : null;
    return new BuiltFromSdist(
        new ArtifactFile(wheel.getFileName().toString(), digest, origin, size), wheel, true);
  }

  private static String sha256Hex(Path file) throws IOException {
    return Digest.compute(file).hex();
  }

  /**
   * The file into {@code dir}: from the app's repository for a {@code file:} URL (a wheel committed
   * next to the app), else from Kiln's store by hash (verified).
   */
  private Path fetch(ArtifactFile file, Path sourceRoot, Path dir) throws StepFailure, IOException {
    Files.createDirectories(dir);
    Path target = dir.resolve(file.filename());
    if (file.url() != null && file.url().startsWith("file:")) {
      Path local = localFile(file, sourceRoot);
      Files.copy(local, target, StandardCopyOption.REPLACE_EXISTING);
      return target;
    }
    try {
      boolean privateFile = file.url() != null && file.url().contains("/tenants/");
      if ((privateFile
              ? cache.getTenantIndexFile(file.sha256(), file.filename(), target)
              : cache.getIndexFile(file.sha256(), file.filename(), target))
          .isEmpty()) {
        throw new StepFailure(
            dev.kiln.installer.Codes.NO_COMPATIBLE_FILE,
            "Kiln's store no longer serves "
                + file.filename()
                + " ("
                + file.sha256()
                + "); the build can be retried, and the index will be asked again.");
      }
      return target;
    } catch (CacheServiceClientException e) {
      // The client checks what it received against the hash; the cache-service checks what
      // upstream served against the hash the project page promised (502).
      if (e.getMessage() != null
          && (e.getMessage().contains(" sent sha256:")
              || (e.status() == 502 && e.getMessage().contains("promises")))) {
        throw new StepFailure(
            dev.kiln.installer.Codes.HASH_MISMATCH,
            file.filename()
                + " arrived with other bytes than its hash "
                + file.sha256()
                + " promises; nothing was installed. "
                + e.getMessage(),
            e);
      }
      throw cacheUnavailable(e);
    }
  }

  /** A distribution file inside the app's source, from the {@code file:///app/…} URL pip wrote. */
  private static Path localFile(ArtifactFile file, Path sourceRoot)
      throws StepFailure, IOException {
    String path = URI.create(file.url()).getPath();
    String prefix = SandboxPip.SOURCE_DIR + "/";
    if (path == null || !path.startsWith(prefix)) {
      throw new StepFailure(
          dev.kiln.installer.Codes.UNSUPPORTED_REQUIREMENT,
          file.filename() + " comes from " + file.url() + ", outside the app's source directory.");
    }
    Path root = sourceRoot.toRealPath();
    Path resolved = root.resolve(path.substring(prefix.length())).normalize();
    if (!Files.isRegularFile(resolved, LinkOption.NOFOLLOW_LINKS)
        || !resolved.toRealPath().startsWith(root)) {
      throw new StepFailure(
          dev.kiln.installer.Codes.UNSUPPORTED_REQUIREMENT,
          file.filename()
              + " is not a regular file inside the app's source directory; commit the file"
              + " itself, not a link.");
    }
    return resolved;
  }

  private Optional<ActionResults.WheelFragment> knownFragment(String fragmentKey)
      throws StepFailure {
    Optional<String> json = getAction(fragmentKey);
    if (json.isEmpty()) {
      return Optional.empty();
    }
    try {
      return Optional.of(
          EventCodec.mapper().readValue(json.get(), ActionResults.WheelFragment.class));
    } catch (IOException | IllegalArgumentException unreadable) {
      return Optional.empty();
    }
  }

  /** The fragment on this worker's disk, fetched from the CAS when it is not there yet. */
  private Optional<Path> localFragment(Digest blob) throws StepFailure {
    Path file = fragmentsDir.resolve(blob.hex() + ".tar");
    if (Files.isRegularFile(file)) {
      return Optional.of(file);
    }
    return getBlob(blob, file) ? Optional.of(file) : Optional.empty();
  }

  private boolean getBlob(Digest blob, Path file) throws StepFailure {
    try {
      return cache.getBlob(blob, file).isPresent();
    } catch (CacheServiceClientException e) {
      throw cacheUnavailable(e);
    }
  }

  private Optional<String> getAction(String key) throws StepFailure {
    try {
      return cache.getAction(key);
    } catch (CacheServiceClientException e) {
      throw cacheUnavailable(e);
    }
  }

  /**
   * Whether a file is the tenant's own: committed to its repository ({@code file:}) or served by
   * one of its private indexes ({@code /tenants/<tenant>/files/…}). What is built from such a file
   * is stored for that tenant only; everything else comes from the public index and is shared.
   */
  static boolean tenantOwned(ArtifactFile file) {
    String url = file.url();
    return url != null && (url.startsWith("file:") || url.contains("/tenants/"));
  }

  /** The scope of what is built from a whole set: the tenant's if any file in it is. */
  static Scope scopeOf(ResolvedSet set) {
    return set.distributions().stream().anyMatch(c -> tenantOwned(c.file()))
        ? Scope.TENANT
        : Scope.PUBLIC;
  }

  private void putAction(String key, String json, Scope scope) throws StepFailure {
    try {
      cache.putAction(key, json, scope);
    } catch (CacheServiceClientException e) {
      throw cacheUnavailable(e);
    }
  }

  private void putBlob(Path file, Digest expected, Scope scope) throws StepFailure {
    try {
      Digest stored = cache.putBlob(file, scope);
      if (!stored.equals(expected)) {
        throw new StepFailure(
            InstallStep.FAILED,
            file.getFileName()
                + " changed while it was uploaded ("
                + expected
                + " became "
                + stored
                + "); nothing else may write to "
                + file.getParent());
      }
    } catch (CacheServiceClientException e) {
      throw cacheUnavailable(e);
    }
  }

  private static StepFailure cacheUnavailable(CacheServiceClientException e) {
    return new StepFailure(
        InstallStep.CACHE_UNAVAILABLE,
        "the cache-service did not answer as expected: "
            + e.getMessage()
            + "; the build can be retried once it is reachable again",
        e);
  }
}
