package dev.kiln.coordinator;

import dev.kiln.events.BuildIds;
import dev.kiln.events.BuildLogLine;
import dev.kiln.events.BuildSnapshot;
import dev.kiln.events.EventCodec;
import dev.kiln.events.Quote;
import dev.kiln.messaging.BuildWatch;
import io.vertx.core.Context;
import io.vertx.core.Vertx;
import io.vertx.core.WorkerExecutor;
import io.vertx.core.buffer.Buffer;
import io.vertx.core.http.HttpServerResponse;
import io.vertx.ext.web.Router;
import io.vertx.ext.web.RoutingContext;
import java.time.Duration;
import java.time.Instant;
import java.util.ArrayList;
import java.util.List;
import java.util.Optional;
import java.util.concurrent.TimeUnit;
import java.util.concurrent.atomic.AtomicBoolean;

/**
 * {@code GET /v1/builds/{id}/log}: the build's log so far, read from the start of its records in
 * {@code kiln.logs} (so nothing written before the request is missed), as plain text, or as JSON
 * lines with {@code Accept: application/json}; with {@code Accept: text/event-stream}, followed
 * live as Server-Sent Events until the build ends. Kafka's consumer blocks, so every request runs
 * on a worker pool of its own ({@value #READERS} threads): followers never hold the event loop or
 * the coordinator's other blocking work.
 */
final class BuildLogApi {
  static final int READERS = 16;
  static final Duration FOLLOW_LIMIT = Duration.ofHours(2);
  private static final Duration QUIET_EVERY = Duration.ofSeconds(15);
  static final Duration UNKNOWN_WAIT = Duration.ofSeconds(3);
  private static final Duration UNKNOWN_RETRY = Duration.ofMillis(50);

  /** Opens a watch on a build's partitions, from the start of what they hold. */
  interface Watches {
    BuildWatch open(String buildId, String tenant, String app);
  }

  private final Vertx vertx;
  private final KnownBuilds builds;
  private final Watches watches;
  private final WorkerExecutor readers;

  BuildLogApi(Vertx vertx, KnownBuilds builds, Watches watches) {
    this.vertx = vertx;
    this.builds = builds;
    this.watches = watches;
    this.readers =
        vertx.createSharedWorkerExecutor(
            "kiln-build-log", READERS, FOLLOW_LIMIT.toMinutes() + 1, TimeUnit.MINUTES);
  }

  void routes(Router router) {
    router.get("/v1/builds/:id/log").handler(this::log);
  }

  void close() {
    readers.close();
  }

  private void log(RoutingContext ctx) {
    String id = ctx.pathParam("id");
    if (!BuildIds.isValid(id)) {
      HttpAnswers.error(
          ctx,
          400,
          "'"
              + Quote.safe(id, 60)
              + "' is not a build id; build ids look like b-<20 hex digits>, as returned by POST"
              + " /v1/pushes",
          "id");
      return;
    }
    whenKnown(ctx, id, Instant.now().plus(UNKNOWN_WAIT));
  }

  /**
   * A follower may ask right after {@code POST /v1/pushes} answered, while the push still waits in
   * {@code kiln.push}: an unknown id is looked up again for up to {@link #UNKNOWN_WAIT} before it
   * is refused, so such a follower still gets the build from its first line. Every unknown or
   * foreign id waits alike, so the wait tells nothing about other tenants' builds.
   */
  private void whenKnown(RoutingContext ctx, String id, Instant deadline) {
    if (ctx.response().closed()) {
      return;
    }
    // Another tenant's build answers exactly like one that does not exist, after the same wait.
    Optional<BuildSnapshot> snapshot =
        builds.get(id).filter(s -> CoordinatorApi.caller(ctx).mayActFor(s.push().tenant()));
    if (snapshot.isEmpty() && Instant.now().isBefore(deadline)) {
      vertx.setTimer(UNKNOWN_RETRY.toMillis(), t -> whenKnown(ctx, id, deadline));
      return;
    }
    if (snapshot.isEmpty()) {
      HttpAnswers.error(
          ctx,
          404,
          "build " + id + " is unknown; it was never pushed, or its push is still queued",
          "id");
      return;
    }
    String accept = ctx.request().getHeader("Accept");
    BuildSnapshot build = snapshot.get();
    if (accept != null && accept.contains("text/event-stream")) {
      follow(ctx, build);
    } else {
      soFar(ctx, build, accept != null && accept.contains("application/json"));
    }
  }

  private void soFar(RoutingContext ctx, BuildSnapshot build, boolean json) {
    readers
        .<List<BuildLogLine>>executeBlocking(
            () -> {
              List<BuildLogLine> lines = new ArrayList<>();
              try (BuildWatch watch =
                  watches.open(build.buildId(), build.push().tenant(), build.push().app())) {
                watch.readLogSoFar(lines::add);
              }
              return lines;
            },
            false)
        .onSuccess(
            lines -> {
              if (json) {
                StringBuilder body = new StringBuilder();
                for (BuildLogLine line : lines) {
                  body.append(EventCodec.mapper().valueToTree(line).toString()).append('\n');
                }
                ctx.response()
                    .putHeader("Content-Type", "application/x-ndjson; charset=utf-8")
                    .end(body.toString());
              } else {
                StringBuilder body = new StringBuilder();
                for (BuildLogLine line : lines) {
                  body.append(line.text()).append('\n');
                }
                ctx.response()
                    .putHeader("Content-Type", "text/plain; charset=utf-8")
                    .end(body.toString());
              }
            })
        .onFailure(
            e ->
                HttpAnswers.error(
                    ctx,
                    503,
                    "the build's log cannot be read from Kafka right now: "
                        + e.getMessage()
                        + "; try again shortly",
                    null));
  }

  private void follow(RoutingContext ctx, BuildSnapshot build) {
    HttpServerResponse response = ctx.response();
    response
        .setChunked(true)
        .putHeader("Content-Type", "text/event-stream; charset=utf-8")
        .putHeader("Cache-Control", "no-cache");
    AtomicBoolean gone = new AtomicBoolean();
    response.closeHandler(v -> gone.set(true));
    Context context = vertx.getOrCreateContext();
    readers
        .<Optional<BuildWatch.Outcome>>executeBlocking(
            () -> {
              try (BuildWatch watch =
                  watches.open(build.buildId(), build.push().tenant(), build.push().app())) {
                return watch.follow(
                    FOLLOW_LIMIT,
                    QUIET_EVERY,
                    line ->
                        send(
                            context,
                            response,
                            "log",
                            EventCodec.mapper().valueToTree(line).toString()),
                    waited -> send(context, response, null, null),
                    () -> !gone.get());
              }
            },
            false)
        .onComplete(
            done -> {
              if (gone.get()) {
                return;
              }
              String end;
              if (done.failed()) {
                end =
                    "{\"outcome\":\"unknown\",\"error\":" + quoted(done.cause().getMessage()) + "}";
              } else if (done.result().isEmpty()) {
                end = "{\"outcome\":\"still-running\"}";
              } else {
                BuildWatch.Outcome outcome = done.result().get();
                end =
                    "{\"outcome\":\""
                        + (outcome.succeeded()
                            ? "succeeded"
                            : outcome.buildFailed() != null ? "failed" : "cancelled")
                        + "\"}";
              }
              response.write("event: end\ndata: " + end + "\n\n");
              response.end();
            });
  }

  /** An SSE event (a comment line when {@code event} is null: keeps idle connections open). */
  private static void send(
      Context context, HttpServerResponse response, String event, String data) {
    String frame =
        event == null ? ": still building\n\n" : "event: " + event + "\ndata: " + data + "\n\n";
    context.runOnContext(
        v -> {
          if (!response.ended() && !response.closed()) {
            response.write(Buffer.buffer(frame));
          }
        });
  }

  private static String quoted(String text) {
    return EventCodec.mapper().getNodeFactory().textNode(text == null ? "" : text).toString();
  }
}
