package dev.kiln.cli.bench;

import static org.assertj.core.api.Assertions.assertThat;

import java.net.URI;
import org.junit.jupiter.api.Test;

class IndexPageTest {
  private static final String PAGE =
      "<!DOCTYPE html><html><body>\n"
          + "<a href=\"../../files/six-1.16.0-py2.py3-none-any.whl#sha256=11\">six-1.16.0</a>\n"
          + "<a href=\"../../files/six-1.17.0.tar.gz#sha256=22\">six-1.17.0.tar.gz</a>\n"
          + "<a href=\"../../files/six-1.17.0-py2.py3-none-any.whl#sha256=33\">six-1.17.0</a>\n"
          + "<a href=\"https://other/numpy-2.0-cp311-cp311-manylinux_2_17_x86_64.whl\">x</a>\n"
          + "</body></html>";

  @Test
  void linksResolveAgainstThePageAndCarryTheirHash() {
    IndexPage page = IndexPage.parse(URI.create("file:///opt/pypi/simple/six/"), PAGE);

    assertThat(page.files()).hasSize(4);
    IndexPage.FileLink first = page.files().get(0);
    assertThat(first.filename()).isEqualTo("six-1.16.0-py2.py3-none-any.whl");
    assertThat(first.url())
        .isEqualTo(URI.create("file:///opt/pypi/files/six-1.16.0-py2.py3-none-any.whl"));
    assertThat(first.sha256()).isEqualTo("11");
    assertThat(page.files().get(3).sha256()).isNull();
    assertThat(page.file("six-1.17.0.tar.gz")).isPresent();
  }

  @Test
  void theLatestPureWheelIsTheLastListed() {
    IndexPage page = IndexPage.parse(URI.create("http://index/simple/six/"), PAGE);

    IndexPage.FileLink latest = page.latestPureWheel().orElseThrow();
    assertThat(latest.filename()).isEqualTo("six-1.17.0-py2.py3-none-any.whl");
    assertThat(latest.wheelVersion()).isEqualTo("1.17.0");
    assertThat(latest.sha256()).isEqualTo("33");
  }

  @Test
  void namesNormalizeAsPep503Says() {
    assertThat(IndexPage.normalize("Typing_Extensions")).isEqualTo("typing-extensions");
    assertThat(IndexPage.normalize("zope.interface")).isEqualTo("zope-interface");
  }
}
