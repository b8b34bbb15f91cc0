package dev.kiln.coordinator;

import java.util.Optional;
import java.util.regex.Matcher;
import java.util.regex.Pattern;

/**
 * What a request to the git remote asks for, read from its raw path and {@code service} parameter:
 * {@code /git/<tenant>/<app>.git/info/refs?service=git-receive-pack} (the ref advertisement) or
 * {@code /git/<tenant>/<app>.git/git-receive-pack} (the push itself). Anything else is refused
 * here, before a tenant, a token or a directory is looked at.
 *
 * <p>Tenant and app must be names as push events have them (1-63 lowercase letters, digits and '-',
 * starting and ending with a letter or digit), so a path can never name a directory outside {@code
 * <sourceRoot>/<tenant>/}: no '.', '/', '%' or '\' gets through.
 */
record GitRemotePath(String tenant, String app, Endpoint endpoint) {

  /** The two requests of a push over git's smart HTTP protocol. */
  enum Endpoint {
    ADVERTISE_RECEIVE_PACK,
    RECEIVE_PACK
  }

  /** Why a request is not one the remote serves, with the HTTP status that says so. */
  record Refusal(int status, String message) {}

  private static final String NAME = "[a-z0-9](?:[a-z0-9-]{0,61}[a-z0-9])?";
  private static final Pattern PATH =
      Pattern.compile(
          "/git/(" + NAME + ")/(" + NAME + ")\\.git/(info/refs|git-receive-pack|git-upload-pack)");

  static final String RECEIVE_PACK_SERVICE = "git-receive-pack";

  /** The repository directory of this tenant's app under the farm's source root. */
  String repositoryName() {
    return app + ".git";
  }

  /**
   * Reads a request.
   *
   * @param method the HTTP method
   * @param rawPath the request path as sent (not normalized: "..", "%2e" and the like are refused)
   * @param service the {@code service} query parameter, or null
   * @return the request, or why it is refused
   */
  static Result parse(String method, String rawPath, String service) {
    Matcher m = PATH.matcher(rawPath == null ? "" : rawPath);
    if (!m.matches()) {
      return Result.refused(
          404,
          "not a Kiln git remote: use https://<farm>/git/<tenant>/<app>.git, where tenant and app"
              + " are 1-63 lowercase letters, digits and '-'");
    }
    String tenant = m.group(1);
    String app = m.group(2);
    String rest = m.group(3);
    if (rest.equals("git-upload-pack")
        || (rest.equals("info/refs") && "git-upload-pack".equals(service))) {
      return Result.refused(
          403,
          "this remote takes pushes only; fetch and clone from the repository the app's code lives"
              + " in");
    }
    if (rest.equals("info/refs")) {
      if (!"GET".equals(method)) {
        return Result.refused(405, "info/refs answers GET only");
      }
      if (!RECEIVE_PACK_SERVICE.equals(service)) {
        return Result.refused(
            403,
            "this remote speaks git's smart HTTP protocol only (info/refs?service=git-receive-pack);"
                + " use git 1.6.6 or newer");
      }
      return Result.ok(new GitRemotePath(tenant, app, Endpoint.ADVERTISE_RECEIVE_PACK));
    }
    if (!"POST".equals(method)) {
      return Result.refused(405, "git-receive-pack answers POST only");
    }
    return Result.ok(new GitRemotePath(tenant, app, Endpoint.RECEIVE_PACK));
  }

  /** A parsed request or a refusal: exactly one is present. */
  record Result(Optional<GitRemotePath> path, Optional<Refusal> refusal) {
    static Result ok(GitRemotePath path) {
      return new Result(Optional.of(path), Optional.empty());
    }

    static Result refused(int status, String message) {
      return new Result(Optional.empty(), Optional.of(new Refusal(status, message)));
    }
  }
}
