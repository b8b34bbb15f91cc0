package dev.kiln.cache;

import static org.assertj.core.api.Assertions.assertThat;

import java.net.URI;
import org.junit.jupiter.api.Test;

class SimpleHtmlTest {
  private static final String SHA = "a".repeat(64);

  @Test
  void readsFilesWithHashesResolvingRelativeLinks() {
    String html =
        "<html><body>"
            + "<a href=\"../../packages/demo_pkg-1.0-py3-none-any.whl#sha256="
            + SHA
            + "\" data-requires-python=\"&gt;=3.9\">demo_pkg-1.0-py3-none-any.whl</a><br/>"
            + "<A HREF='https://files.example/demo_pkg-0.9.tar.gz#sha256="
            + SHA.toUpperCase()
            + "' data-yanked=\"broken &amp; old\">demo_pkg-0.9.tar.gz</A>"
            + "<a href=\"demo_pkg-0.8.tar.gz#md5=abc\">no sha256: left out</a>"
            + "</body></html>";

    ProjectPage page =
        SimpleHtml.projectPage(
            "demo-pkg", html, URI.create("http://index.example/simple/demo-pkg/"));

    assertThat(page.files()).hasSize(2);
    DistributionFile wheel = page.files().get(0);
    assertThat(wheel.filename()).isEqualTo("demo_pkg-1.0-py3-none-any.whl");
    assertThat(wheel.upstreamUrl())
        .hasToString("http://index.example/packages/demo_pkg-1.0-py3-none-any.whl");
    assertThat(wheel.sha256().hex()).isEqualTo(SHA);
    assertThat(wheel.requiresPython()).isEqualTo(">=3.9");
    assertThat(wheel.yanked()).isFalse();
    DistributionFile sdist = page.files().get(1);
    assertThat(sdist.yankedReason()).isEqualTo("broken & old");
    assertThat(sdist.sha256().hex()).isEqualTo(SHA);
  }

  @Test
  void honoursBaseHref() {
    String html =
        "<base href=\"https://mirror.example/root/\"><a href=\"x-1.0.tar.gz#sha256="
            + SHA
            + "\">x</a>";

    ProjectPage page = SimpleHtml.projectPage("x", html, URI.create("http://index/simple/x/"));

    assertThat(page.files().get(0).upstreamUrl())
        .hasToString("https://mirror.example/root/x-1.0.tar.gz");
  }

  @Test
  void readsNormalizedProjectNamesFromTheRootPage() {
    String html =
        "<a href=\"/simple/Demo_Pkg/\">Demo_Pkg</a><a href=\"/simple/flask/\">flask</a>"
            + "<a href=\"/simple/demo-pkg/\">demo-pkg</a>";

    assertThat(SimpleHtml.projectNames(html)).containsExactly("demo-pkg", "flask");
  }

  @Test
  void unescapesNumericEntities() {
    assertThat(SimpleHtml.unescape("&#62;=3.8, &#x3c;4")).isEqualTo(">=3.8, <4");
    assertThat(SimpleHtml.unescape("&#99999999999;")).isEqualTo("&#99999999999;");
  }
}
