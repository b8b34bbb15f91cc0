package dev.kiln.coordinator;

import dev.kiln.events.BuildLogLine;
import dev.kiln.events.BuildSnapshot;
import dev.kiln.events.BuildState;
import dev.kiln.events.CodedMessage;
import dev.kiln.events.InvalidEventException;
import dev.kiln.events.PushEvent;
import dev.kiln.events.Tenant;
import dev.kiln.messaging.BuildWatch;
import io.vertx.core.Context;
import io.vertx.core.Future;
import io.vertx.core.Promise;
import io.vertx.core.Vertx;
import io.vertx.core.WorkerExecutor;
import io.vertx.core.buffer.Buffer;
import io.vertx.core.file.AsyncFile;
import io.vertx.core.file.OpenOptions;
import io.vertx.core.http.HttpServerRequest;
import io.vertx.core.http.HttpServerResponse;
import io.vertx.ext.web.Router;
import io.vertx.ext.web.RoutingContext;
import java.io.BufferedInputStream;
import java.io.ByteArrayOutputStream;
import java.io.IOException;
import java.io.InputStream;
import java.io.OutputStream;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.time.Duration;
import java.time.Instant;
import java.util.Collection;
import java.util.List;
import java.util.Optional;
import java.util.concurrent.TimeUnit;
import java.util.function.BooleanSupplier;
import java.util.zip.GZIPInputStream;
import org.eclipse.jgit.lib.Repository;
import org.eclipse.jgit.storage.file.FileRepositoryBuilder;
import org.eclipse.jgit.transport.PacketLineOut;
import org.eclipse.jgit.transport.PreReceiveHook;
import org.eclipse.jgit.transport.ReceiveCommand;
import org.eclipse.jgit.transport.ReceivePack;
import org.eclipse.jgit.transport.RefAdvertiser.PacketLineOutRefAdvertiser;
import org.slf4j.Logger;
import org.slf4j.LoggerFactory;

/**
 * A Heroku-style git remote: {@code git push https://<farm>/git/<tenant>/<app>.git main} stores the
 * pushed commit in the farm's bare repository {@code <sourceRoot>/<tenant>/<app>.git}, starts its
 * build as {@code POST /v1/pushes} would, streams the build log back to the pushing terminal on
 * git's sideband ({@code remote: -----> …}) and rejects the branch update when the build does not
 * produce an image, so that {@code git push} exits non-zero.
 *
 * <p>git's smart HTTP protocol is served by JGit's {@link ReceivePack} from the coordinator's own
 * Vert.x server. JGit blocks, so it runs on a worker pool of its own ({@link
 * GitRemoteConfig#concurrentPushes()} threads, each held for a push's whole build); the request
 * body is first spooled to a temporary file without blocking the event loop (bounded by {@link
 * GitRemoteConfig#maxPushBytes()}), and the answer is written back through the request's context.
 *
 * <p>The build runs in JGit's pre-receive hook, after the pack is stored in the repository's object
 * database and before the ref moves: the worker fetches the commit by id from the bare repository
 * (protocol v2 serves any object), and the branch only points at commits that built.
 */
final class GitRemote {
  private static final Logger LOG = LoggerFactory.getLogger(GitRemote.class);

  static final String ADVERTISEMENT = "application/x-git-receive-pack-advertisement";
  static final String REQUEST = "application/x-git-receive-pack-request";
  static final String RESULT = "application/x-git-receive-pack-result";

  /** After this long without a log line the terminal hears that the build is still on. */
  static final Duration QUIET_EVERY = Duration.ofSeconds(20);

  /** Opens a watch on a build's records before its push is sent (blocking). */
  interface Watches {
    BuildWatch open(String buildId, String tenant, String app);
  }

  private final Vertx vertx;
  private final Context context;
  private final KnownBuilds builds;
  private final BooleanSupplier restored;
  private final CoordinatorApi.PushSink pushes;
  private final CoordinatorApi.Security security;
  private final Path sourceRoot;
  private final GitRemoteConfig settings;
  private final Watches watches;
  private final WorkerExecutor executor;

  GitRemote(
      Vertx vertx,
      KnownBuilds builds,
      BooleanSupplier restored,
      CoordinatorApi.PushSink pushes,
      CoordinatorApi.Security security,
      Path sourceRoot,
      GitRemoteConfig settings,
      Watches watches) {
    this.vertx = vertx;
    this.context = vertx.getOrCreateContext();
    this.builds = builds;
    this.restored = restored;
    this.pushes = pushes;
    this.security = security;
    this.sourceRoot = sourceRoot == null ? null : sourceRoot.toAbsolutePath().normalize();
    this.settings = settings;
    this.watches = watches;
    // A push holds its thread while its build runs: bound the time JGit may take accordingly.
    this.executor =
        vertx.createSharedWorkerExecutor(
            "kiln-git-remote-" + System.identityHashCode(this),
            settings.concurrentPushes(),
            settings.buildTimeout().toMillis() + 120_000,
            TimeUnit.MILLISECONDS);
  }

  void routes(Router router) {
    router.route("/git/*").handler(this::handle);
  }

  Future<Void> close() {
    return executor.close();
  }

  private void handle(RoutingContext ctx) {
    HttpServerRequest request = ctx.request();
    request.pause();
    GitRemotePath.Result parsed =
        GitRemotePath.parse(request.method().name(), request.path(), request.getParam("service"));
    if (parsed.refusal().isPresent()) {
      text(ctx, parsed.refusal().get().status(), parsed.refusal().get().message());
      return;
    }
    GitRemotePath path = parsed.path().orElseThrow();
    if (sourceRoot == null) {
      text(ctx, 404, "this farm has no source root, so it keeps no git remotes");
      return;
    }
    if (!restored.getAsBoolean()) {
      ctx.response().putHeader("Retry-After", "1");
      text(ctx, 503, "the coordinator is still starting; push again in a moment");
      return;
    }
    Optional<Caller> caller =
        GitRemoteAccess.basicPassword(request.getHeader("Authorization"))
            .flatMap(
                token ->
                    Caller.authenticate(
                        GitRemoteAccess.asBearer(token),
                        security.operatorTokenSha256(),
                        security.tenants()));
    switch (GitRemoteAccess.decide(caller, path.tenant())) {
      case CHALLENGE -> {
        ctx.response().putHeader("WWW-Authenticate", "Basic realm=\"kiln\"");
        text(
            ctx,
            401,
            "this remote needs a Kiln token as the password (any user name): the tenant's token"
                + " from `kiln tenants token <tenant>`");
        return;
      }
      case NOT_FOUND -> {
        notFound(ctx, path);
        return;
      }
      case ALLOW -> {}
    }
    tenantOf(path.tenant(), caller.get())
        .onFailure(e -> text(ctx, 503, "tenant could not be created: " + e.getMessage()))
        .onSuccess(
            tenant -> {
              if (tenant.isEmpty()) {
                notFound(ctx, path);
              } else if (path.endpoint() == GitRemotePath.Endpoint.ADVERTISE_RECEIVE_PACK) {
                advertise(ctx, path);
              } else {
                receive(ctx, path);
              }
            });
  }

  /** The tenant the push is for; an operator's push may create it where the farm allows that. */
  private Future<Optional<Tenant>> tenantOf(String name, Caller caller) {
    Optional<Tenant> tenant = security.tenants().get(name);
    if (tenant.isEmpty() && caller.isOperator() && security.autoCreateTenants()) {
      return security.tenantsApi().createImplicitly(name).map(Optional::of);
    }
    return Future.succeededFuture(tenant);
  }

  private static void notFound(RoutingContext ctx, GitRemotePath path) {
    text(
        ctx,
        404,
        "no git remote "
            + path.tenant()
            + "/"
            + path.repositoryName()
            + " for this token; check the URL and that the token belongs to tenant "
            + path.tenant());
  }

  private Path repositoryDir(GitRemotePath path) {
    return sourceRoot.resolve(path.tenant()).resolve(path.repositoryName());
  }

  /** The repository's URL as its builds fetch it: inside the tenant's default source. */
  private String repositoryUrl(GitRemotePath path) {
    return security.sources().defaultSource(path.tenant()) + path.repositoryName();
  }

  private void advertise(RoutingContext ctx, GitRemotePath path) {
    executor
        .executeBlocking(
            () -> {
              ByteArrayOutputStream bytes = new ByteArrayOutputStream();
              try (Repository repo = openForAdvertisement(repositoryDir(path))) {
                PacketLineOut out = new PacketLineOut(bytes);
                out.writeString("# service=" + GitRemotePath.RECEIVE_PACK_SERVICE + "\n");
                out.end();
                ReceivePack pack = receivePack(repo);
                pack.sendAdvertisedRefs(new PacketLineOutRefAdvertiser(out));
              }
              return Buffer.buffer(bytes.toByteArray());
            },
            false)
        .onSuccess(
            body ->
                noCache(ctx.response())
                    .setStatusCode(200)
                    .putHeader("Content-Type", ADVERTISEMENT)
                    .end(body))
        .onFailure(
            e -> {
              LOG.error("git remote {}/{}: advertisement failed", path.tenant(), path.app(), e);
              text(ctx, 500, "the repository could not be read: " + e.getMessage());
            });
  }

  private void receive(RoutingContext ctx, GitRemotePath path) {
    HttpServerRequest request = ctx.request();
    String contentType = request.getHeader("Content-Type");
    if (contentType == null || !contentType.startsWith(REQUEST)) {
      text(ctx, 415, "git-receive-pack takes Content-Type " + REQUEST);
      return;
    }
    String length = request.getHeader("Content-Length");
    if (length != null && parseLong(length) > settings.maxPushBytes()) {
      tooLarge(ctx);
      return;
    }
    if ("100-continue".equalsIgnoreCase(request.getHeader("Expect"))) {
      ctx.response().writeContinue();
    }
    boolean gzip = "gzip".equalsIgnoreCase(request.getHeader("Content-Encoding"));
    spool(request)
        .onFailure(
            e -> {
              if (e instanceof TooLarge) {
                tooLarge(ctx);
              } else {
                text(ctx, 400, "the push could not be read: " + e.getMessage());
              }
            })
        .onSuccess(file -> runReceivePack(ctx, path, file, gzip));
  }

  private void runReceivePack(RoutingContext ctx, GitRemotePath path, Path body, boolean gzip) {
    HttpServerResponse response = noCache(ctx.response());
    response.setStatusCode(200).putHeader("Content-Type", RESULT).setChunked(true);
    Context requestContext = vertx.getOrCreateContext();
    OutputStream out = new ResponseStream(requestContext, response);
    // A terminal that gives up (Ctrl-C) frees its thread instead of holding it for the build.
    java.util.concurrent.atomic.AtomicBoolean clientGone =
        new java.util.concurrent.atomic.AtomicBoolean();
    response.closeHandler(v -> clientGone.set(true));
    executor
        .executeBlocking(
            () -> {
              try (Repository repo = openOrCreate(repositoryDir(path));
                  InputStream raw = new BufferedInputStream(Files.newInputStream(body));
                  InputStream in = gzip ? new GZIPInputStream(raw) : raw) {
                ReceivePack pack = receivePack(repo);
                pack.setPreReceiveHook(new BuildOnPush(path, clientGone));
                pack.receive(in, out, null);
              }
              return null;
            },
            false)
        .onComplete(
            done -> {
              deleteQuietly(body);
              if (done.failed()) {
                LOG.warn(
                    "git remote {}/{}: push failed: {}",
                    path.tenant(),
                    path.app(),
                    done.cause().toString());
              }
              requestContext.runOnContext(v -> response.end());
            });
  }

  private ReceivePack receivePack(Repository repo) {
    ReceivePack pack = new ReceivePack(repo);
    // Each HTTP request is one half of the conversation: no waiting for the client in between.
    pack.setBiDirectionalPipe(false);
    pack.setMaxPackSizeLimit(settings.maxPushBytes());
    // As Heroku: git itself refuses a non-fast-forward unless the user forces it (push -f).
    pack.setAllowNonFastForwards(true);
    pack.setAllowDeletes(true);
    pack.setCheckReceivedObjects(true);
    // `git push -o ci` asks for a CI build (the test dependencies installed too).
    pack.setAllowPushOptions(true);
    return pack;
  }

  /**
   * The app's repository to advertise; an app never pushed to advertises as an empty repository
   * without one being created, so asking (or probing) leaves nothing on disk: only a push does.
   */
  private static Repository openForAdvertisement(Path dir) throws IOException {
    if (!Files.isDirectory(dir)) {
      return new org.eclipse.jgit.internal.storage.dfs.InMemoryRepository(
          new org.eclipse.jgit.internal.storage.dfs.DfsRepositoryDescription(
              dir.getFileName().toString()));
    }
    return openOrCreate(dir);
  }

  /** Opens the app's bare repository, creating it on its first push. */
  private static Repository openOrCreate(Path dir) throws IOException {
    Repository repo =
        new FileRepositoryBuilder().setGitDir(dir.toFile()).setBare().setMustExist(false).build();
    if (!repo.getObjectDatabase().exists()) {
      Files.createDirectories(dir.getParent());
      repo.create(true);
    }
    return repo;
  }

  /**
   * The pre-receive hook: every pushed branch is built (only the linked one, for an app linked to a
   * forge branch), and a branch whose build does not end with an image is rejected (its ref stays
   * where it was; git push exits 1). Deletions, tags and other branches are stored without a build.
   */
  /** The push option of a CI build: {@code git push -o ci}. */
  static final String CI_PUSH_OPTION = "ci";

  private final class BuildOnPush implements PreReceiveHook {
    private final GitRemotePath path;
    private final java.util.concurrent.atomic.AtomicBoolean clientGone;

    BuildOnPush(GitRemotePath path, java.util.concurrent.atomic.AtomicBoolean clientGone) {
      this.path = path;
      this.clientGone = clientGone;
    }

    @Override
    public void onPreReceive(ReceivePack pack, Collection<ReceiveCommand> commands) {
      Sideband say = new Sideband(pack);
      boolean ci = false;
      List<String> options = pack.getPushOptions() == null ? List.of() : pack.getPushOptions();
      for (String option : options) {
        if (option.equals(CI_PUSH_OPTION)) {
          ci = true;
        } else {
          say.line(
              "-----> Ignoring the push option '"
                  + dev.kiln.events.Quote.safe(option, 60)
                  + "'; Kiln knows only -o "
                  + CI_PUSH_OPTION
                  + " (a CI build)");
        }
      }
      for (ReceiveCommand command : commands) {
        if (command.getResult() != ReceiveCommand.Result.NOT_ATTEMPTED
            || command.getType() == ReceiveCommand.Type.DELETE) {
          continue;
        }
        if (!command.getRefName().startsWith("refs/heads/")) {
          say.line("-----> " + command.getRefName() + " is stored; only branches are built");
          continue;
        }
        Optional<String> linkedBranch = linkedBranch();
        String branch = command.getRefName().substring("refs/heads/".length());
        if (linkedBranch.isPresent() && !linkedBranch.get().equals(branch)) {
          // The app deploys one branch (its link, as App Platform's deploy_on_push).
          say.line(
              "-----> "
                  + branch
                  + " is stored but not built: "
                  + path.app()
                  + " builds pushes to "
                  + linkedBranch.get()
                  + ", its linked branch");
          continue;
        }
        Optional<String> rejected;
        try {
          rejected = build(command, say, ci);
        } catch (RuntimeException e) {
          LOG.error("git remote {}/{}: build of a push failed", path.tenant(), path.app(), e);
          say.line(" !     Kiln could not start the build: " + e.getMessage());
          rejected = Optional.of("build not started");
        }
        rejected.ifPresent(
            why -> command.setResult(ReceiveCommand.Result.REJECTED_OTHER_REASON, why));
      }
    }

    /** The branch the app is linked to (`kiln apps link`), if it is linked. */
    private Optional<String> linkedBranch() {
      // The registry lives on the verticle's context; this hook runs on a git thread.
      return await(
          onContext(
              () ->
                  Future.succeededFuture(
                      security
                          .tenants()
                          .get(path.tenant())
                          .flatMap(tenant -> tenant.appLink(path.app()))
                          .map(dev.kiln.events.AppLink::branch))));
    }

    /** Builds one pushed branch; the reason to reject its update, or empty when it built. */
    private Optional<String> build(ReceiveCommand command, Sideband say, boolean ci) {
      String branch = command.getRefName().substring("refs/heads/".length());
      String commit = command.getNewId().name();
      PushEvent push =
          new PushEvent(
              path.tenant(),
              path.app(),
              repositoryUrl(path),
              command.getRefName(),
              commit,
              null,
              null,
              Instant.now(),
              ci);
      try {
        push.validate();
      } catch (InvalidEventException e) {
        say.line(" !     " + e.getMessage());
        return Optional.of("invalid push");
      }
      say.line(
          "-----> Building "
              + path.tenant()
              + "/"
              + path.app()
              + " "
              + branch
              + "@"
              + commit.substring(0, 12)
              + (ci ? " (CI build: test dependencies included)" : "")
              + " on Kiln");
      try (BuildWatch watch = watches.open(push.buildId(), path.tenant(), path.app())) {
        Admitted admitted = await(onContext(() -> admit(push)));
        if (admitted.refusal() != null) {
          say.line(" !     " + admitted.refusal().message());
          return Optional.of(admitted.refusal().code());
        }
        if (admitted.known() != null && admitted.known().state().isFinal()) {
          return finished(admitted.known(), say);
        }
        if (admitted.known() != null) {
          say.line("-----> Build " + push.buildId() + " of this commit is running; following it");
        }
        Optional<BuildWatch.Outcome> outcome =
            watch.follow(
                settings.buildTimeout(),
                QUIET_EVERY,
                line -> say.line(render(line)),
                waited ->
                    say.line(
                        "-----> Still building "
                            + push.buildId()
                            + " ("
                            + waited.toSeconds()
                            + " s)"),
                () -> !clientGone.get());
        if (outcome.isEmpty() && clientGone.get()) {
          LOG.info(
              "git remote {}/{}: the client went away; build {} carries on unwatched",
              path.tenant(),
              path.app(),
              push.buildId());
          return Optional.of("client went away");
        }
        if (outcome.isEmpty()) {
          say.line(
              " !     No result after "
                  + settings.buildTimeout().toSeconds()
                  + " s; the build carries on: `kiln status "
                  + push.buildId()
                  + "`. The branch was not updated; push again to follow it.");
          return Optional.of("build still running");
        }
        return ended(outcome.get(), say);
      }
    }
  }

  private static Optional<String> ended(BuildWatch.Outcome outcome, Sideband say) {
    if (outcome.imageReady() != null) {
      say.line("-----> Image: " + outcome.imageReady().image());
      say.line("-----> Digest: " + outcome.imageReady().digest());
      return Optional.empty();
    }
    if (outcome.buildFailed() != null) {
      // The build's own log already said why, in full; this line says what it means for the push.
      say.line(
          " !     Push rejected: build "
              + outcome.buildFailed().buildId()
              + " failed ("
              + outcome.buildFailed().code()
              + "); fix the app and push a new commit");
      return Optional.of("build failed");
    }
    say.line(
        " !     Build cancelled: superseded by build "
            + outcome.buildCancelled().supersededBy()
            + ", a later push to this branch");
    return Optional.of("build superseded by a later push");
  }

  /** A push of a commit whose build already ended answers from the build's snapshot. */
  private static Optional<String> finished(BuildSnapshot known, Sideband say) {
    say.line("-----> This commit was built before (build " + known.buildId() + ")");
    if (known.state() == BuildState.SUCCEEDED) {
      say.line("-----> Image: " + known.image());
      say.line("-----> Digest: " + known.imageDigest());
      return Optional.empty();
    }
    if (known.state() == BuildState.CANCELLED) {
      say.line(" !     Build cancelled: superseded by build " + known.supersededBy());
      return Optional.of("build superseded by a later push");
    }
    String code = known.failure() == null ? "build failed" : known.failure().code();
    say.line(
        " !     Build failed ("
            + code
            + ")"
            + (known.failure() == null ? "" : ": " + known.failure().message())
            + "; push a new commit to build again");
    return Optional.of("build failed");
  }

  /** A log line as the terminal shows it (after git's "remote: "). */
  static String render(BuildLogLine line) {
    if (line.level() != BuildLogLine.Level.ERROR) {
      return line.text();
    }
    // Every line of an error is marked, as Heroku does, also the lines of a multi-line message.
    return line.text()
        .lines()
        .map(text -> text.startsWith(" !") ? text : " !     " + text)
        .collect(java.util.stream.Collectors.joining("\n"));
  }

  /** What the admission of a push said. */
  private record Admitted(CodedMessage refusal, BuildSnapshot known) {}

  /**
   * The checks {@code POST /v1/pushes} makes for a known tenant (allowed source, quota, a commit
   * built before), then Kafka. On the verticle's context: the registry and builds live there.
   */
  private Future<Admitted> admit(PushEvent push) {
    Optional<Tenant> tenant = security.tenants().get(push.tenant());
    if (tenant.isEmpty()) {
      return Future.succeededFuture(new Admitted(SourcePolicy.unknownTenant(push.tenant()), null));
    }
    PushChecks.Verdict verdict = PushChecks.check(push, tenant.get(), security.sources(), builds);
    if (verdict instanceof PushChecks.Verdict.Refused refused) {
      return Future.succeededFuture(new Admitted(refused.why(), null));
    }
    if (verdict instanceof PushChecks.Verdict.Known known) {
      return Future.succeededFuture(new Admitted(null, known.build()));
    }
    return pushes.submit(push).map(v -> new Admitted(null, null));
  }

  private <T> Future<T> onContext(java.util.function.Supplier<Future<T>> action) {
    Promise<T> promise = Promise.promise();
    context.runOnContext(v -> action.get().onComplete(promise));
    return promise.future();
  }

  private static <T> T await(Future<T> future) {
    try {
      return future.toCompletionStage().toCompletableFuture().get(60, TimeUnit.SECONDS);
    } catch (InterruptedException e) {
      Thread.currentThread().interrupt();
      throw new IllegalStateException("interrupted", e);
    } catch (java.util.concurrent.ExecutionException | java.util.concurrent.TimeoutException e) {
      Throwable cause = e.getCause() == null ? e : e.getCause();
      throw new IllegalStateException(cause.getMessage(), cause);
    }
  }

  /** Lines on git's progress channel: the client prints each as {@code remote: <line>}. */
  private static final class Sideband {
    private final ReceivePack pack;

    Sideband(ReceivePack pack) {
      this.pack = pack;
    }

    void line(String text) {
      try {
        OutputStream out = pack.getMessageOutputStream();
        out.write((text + "\n").getBytes(StandardCharsets.UTF_8));
        out.flush(); // the sideband buffers; the terminal should see the line now
      } catch (IOException e) {
        LOG.debug("the pushing client went away: {}", e.toString());
      }
    }
  }

  /** JGit's output, written to the HTTP response on the request's context as it comes. */
  private static final class ResponseStream extends OutputStream {
    private final Context context;
    private final HttpServerResponse response;

    ResponseStream(Context context, HttpServerResponse response) {
      this.context = context;
      this.response = response;
    }

    @Override
    public void write(int b) {
      write(new byte[] {(byte) b}, 0, 1);
    }

    @Override
    public void write(byte[] bytes, int offset, int length) {
      Buffer chunk = Buffer.buffer(java.util.Arrays.copyOfRange(bytes, offset, offset + length));
      context.runOnContext(
          v -> {
            if (!response.ended() && !response.closed()) {
              response.write(chunk);
            }
          });
    }
  }

  /** A push body over the limit. */
  private static final class TooLarge extends IOException {
    private static final long serialVersionUID = 1L;
  }

  /** Streams the request body to a temporary file, refusing more than the limit. */
  private Future<Path> spool(HttpServerRequest request) {
    return vertx
        .fileSystem()
        .createTempFile("kiln-git-push-", ".pack")
        .compose(
            name ->
                vertx
                    .fileSystem()
                    .open(name, new OpenOptions().setWrite(true))
                    .compose(file -> copyBounded(request, file, Path.of(name))));
  }

  private Future<Path> copyBounded(HttpServerRequest request, AsyncFile file, Path name) {
    Promise<Path> done = Promise.promise();
    long[] total = {0};
    request.handler(
        chunk -> {
          total[0] += chunk.length();
          if (total[0] > settings.maxPushBytes()) {
            if (done.tryFail(new TooLarge())) {
              request.pause();
              file.close().onComplete(c -> vertx.fileSystem().delete(name.toString()));
            }
            return;
          }
          file.write(chunk);
          if (file.writeQueueFull()) {
            request.pause();
            file.drainHandler(v -> request.resume());
          }
        });
    request.exceptionHandler(
        e -> {
          if (done.tryFail(e)) {
            file.close().onComplete(c -> vertx.fileSystem().delete(name.toString()));
          }
        });
    request.endHandler(
        v -> {
          if (done.future().isComplete()) {
            return;
          }
          file.close()
              .onComplete(
                  closed -> {
                    if (closed.succeeded()) {
                      done.tryComplete(name);
                    } else {
                      done.tryFail(closed.cause());
                    }
                  });
        });
    request.resume();
    return done.future();
  }

  private void tooLarge(RoutingContext ctx) {
    HttpServerResponse response = ctx.response();
    if (response.ended()) {
      return;
    }
    // Whatever else the client sends is not read: the connection closes once the answer is out.
    response
        .setStatusCode(413)
        .putHeader("Content-Type", "text/plain; charset=utf-8")
        .putHeader("Connection", "close")
        .end(
            "the push is larger than "
                + settings.maxPushBytes()
                + " bytes, this farm's limit; keep large files out of the app's repository\n")
        .onComplete(sent -> ctx.request().connection().close());
  }

  private static long parseLong(String s) {
    try {
      return Long.parseLong(s.strip());
    } catch (NumberFormatException e) {
      return -1;
    }
  }

  private static void deleteQuietly(Path file) {
    try {
      Files.deleteIfExists(file);
    } catch (IOException e) {
      LOG.warn("could not delete the spooled push {}: {}", file, e.toString());
    }
  }

  private static HttpServerResponse noCache(HttpServerResponse response) {
    return response
        .putHeader("Cache-Control", "no-cache, max-age=0, must-revalidate")
        .putHeader("Pragma", "no-cache")
        .putHeader("Expires", "Fri, 01 Jan 1980 00:00:00 GMT");
  }

  /** Errors as plain text: git prints a text/plain body of a refused request to the user. */
  private static void text(RoutingContext ctx, int status, String message) {
    HttpServerResponse response = ctx.response();
    if (response.ended()) {
      return;
    }
    response
        .setStatusCode(status)
        .putHeader("Content-Type", "text/plain; charset=utf-8")
        .end(message + "\n")
        .onFailure(e -> LOG.debug("could not answer {}: {}", ctx.request().path(), e.toString()));
  }
}
