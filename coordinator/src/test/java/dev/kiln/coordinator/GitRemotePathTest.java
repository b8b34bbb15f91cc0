package dev.kiln.coordinator;

import static org.assertj.core.api.Assertions.assertThat;

import org.junit.jupiter.api.Test;

class GitRemotePathTest {
  @Test
  void readsTheAdvertisementAndThePush() {
    assertThat(GitRemotePath.parse("GET", "/git/acme/web.git/info/refs", "git-receive-pack").path())
        .contains(new GitRemotePath("acme", "web", GitRemotePath.Endpoint.ADVERTISE_RECEIVE_PACK));
    assertThat(GitRemotePath.parse("POST", "/git/acme/web-2.git/git-receive-pack", null).path())
        .contains(new GitRemotePath("acme", "web-2", GitRemotePath.Endpoint.RECEIVE_PACK));
  }

  @Test
  void pathsThatCouldLeaveTheTenantsDirectoryAreRefused() {
    for (String path :
        new String[] {
          "/git/acme/../globex/web.git/info/refs",
          "/git/acme/..%2fglobex%2fweb.git/info/refs",
          "/git/../acme/web.git/info/refs",
          "/git/acme/web.git/../../x/info/refs",
          "/git/acme/%2e%2e.git/info/refs",
          "/git/acme/.git/info/refs",
          "/git/Acme/web.git/info/refs",
          "/git/acme/web/info/refs",
          "/git/acme/sub/web.git/info/refs",
          "/git/acme/web.git\\info/refs",
          "/git/-acme/web.git/info/refs",
        }) {
      GitRemotePath.Result result = GitRemotePath.parse("GET", path, "git-receive-pack");
      assertThat(result.path()).as(path).isEmpty();
      assertThat(result.refusal().orElseThrow().status()).as(path).isEqualTo(404);
    }
  }

  @Test
  void fetchingAndDumbHttpAreRefusedWithAReason() {
    assertThat(
            GitRemotePath.parse("GET", "/git/acme/web.git/info/refs", "git-upload-pack")
                .refusal()
                .orElseThrow()
                .status())
        .isEqualTo(403);
    assertThat(
            GitRemotePath.parse("GET", "/git/acme/web.git/info/refs", null)
                .refusal()
                .orElseThrow()
                .message())
        .contains("smart HTTP");
    assertThat(
            GitRemotePath.parse("GET", "/git/acme/web.git/git-receive-pack", null)
                .refusal()
                .orElseThrow()
                .status())
        .isEqualTo(405);
  }
}
