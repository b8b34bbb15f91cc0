package dev.kiln.installer.wheel;

import static org.assertj.core.api.Assertions.assertThat;
import static org.assertj.core.api.Assertions.assertThatThrownBy;

import dev.kiln.installer.pep.Pep440Version;
import java.util.List;
import java.util.Optional;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.params.ParameterizedTest;
import org.junit.jupiter.params.provider.CsvSource;

/** Cases from PEP 427, PEP 425 and the packaging project's utils tests. */
class WheelFilenameTest {

  @ParameterizedTest
  @CsvSource(
      delimiter = '|',
      value = {
        // file name | normalized name | version | build | tags (space-separated)
        "foo-1.0-py3-none-any.whl | foo | 1.0 | | py3-none-any",
        "some_PACKAGE-1.0-py3-none-any.whl | some-package | 1.0 | | py3-none-any",
        "foo-1.0-1000-py3-none-any.whl | foo | 1.0 | 1000 | py3-none-any",
        "foo-1.0-1000abc-py3-none-any.whl | foo | 1.0 | 1000abc | py3-none-any",
        "pyvirtualcam-0.13.0-cp310-cp310-manylinux2014_x86_64.manylinux_2_17_x86_64.whl"
            + " | pyvirtualcam | 0.13.0 | "
            + " | cp310-cp310-manylinux2014_x86_64 cp310-cp310-manylinux_2_17_x86_64",
        "foo-2-py2.py3-none-manylinux_2_17_x86_64.manylinux2014_x86_64.whl | foo | 2 |"
            + " | py2-none-manylinux_2_17_x86_64 py2-none-manylinux2014_x86_64"
            + " py3-none-manylinux_2_17_x86_64 py3-none-manylinux2014_x86_64",
        "foo_bár-1.0-py3-none-any.whl | foo-bár | 1.0 | | py3-none-any",
        "foo_bár-1.0-1000-py3-none-any.whl | foo-bár | 1.0 | 1000 | py3-none-any",
        "foo-1.0-py3.py2-none-any.whl | foo | 1.0 | | py3-none-any py2-none-any",
        "numpy-2.1.3-cp312-cp312-manylinux_2_17_x86_64.manylinux2014_x86_64.whl | numpy | 2.1.3"
            + " | | cp312-cp312-manylinux_2_17_x86_64 cp312-cp312-manylinux2014_x86_64",
        "torch-2.3.0+cpu-cp312-cp312-linux_x86_64.whl | torch | 2.3.0+cpu |"
            + " | cp312-cp312-linux_x86_64",
        "cryptography-43.0.3-cp39-abi3-musllinux_1_2_x86_64.whl | cryptography | 43.0.3 |"
            + " | cp39-abi3-musllinux_1_2_x86_64",
        "Django-5.1.2-py3-none-any.whl | django | 5.1.2 | | py3-none-any",
        "zope.interface-7.1.1-cp312-cp312-manylinux_2_5_x86_64.whl | zope-interface | 7.1.1"
            + " | | cp312-cp312-manylinux_2_5_x86_64",
        "Foo-1.0-PY3-NONE-ANY.whl | foo | 1.0 | | py3-none-any",
      })
  void aWheelNameGivesItsNameVersionBuildAndEveryTag(
      String filename, String name, String version, String build, String tags) {
    WheelFilename wheel = WheelFilename.parse(filename);
    assertThat(wheel.filename()).isEqualTo(filename);
    assertThat(wheel.normalizedName()).isEqualTo(name);
    assertThat(wheel.version()).isEqualTo(Pep440Version.of(version));
    assertThat(wheel.build().map(Object::toString)).isEqualTo(Optional.ofNullable(build));
    assertThat(wheel.tags().stream().map(WheelTag::toString).toList())
        .isEqualTo(List.of(tags.split(" ")));
  }

  @ParameterizedTest
  @CsvSource(
      delimiter = '|',
      value = {
        "foo-1.0.whl | it has 2 parts separated by '-', but a wheel name has 5 or 6",
        "foo-1.0-py3-none-any.wheel | it does not end in .whl",
        "foo__bar-1.0-py3-none-any.whl | 'foo__bar' is not a valid distribution name",
        "foo#bar-1.0-py3-none-any.whl | 'foo#bar' is not a valid distribution name",
        "-1.0-py3-none-any.whl | its distribution name is empty",
        "-1.0-200-py3-none-any.whl | its distribution name is empty",
        "foobar-1.x-py3-none-any.whl | '1.x' is not a PEP 440 version",
        "foo-1.0-abc-py3-none-any.whl | its build tag 'abc' must be a number",
        "foo-1.0-200-py3-none-any-junk.whl | it has 7 parts",
        "foo-1.0--none-any.whl | the python tag set '' has an empty member",
        "foo-1.0-py3-none-.whl | the platform tag set '' has an empty member",
        "foo-1.0-py3.-none-any.whl | the python tag set 'py3.' has an empty member",
        "playlyfe-0.1.1-2.7.6-none-any.whl | '2' is not a python tag",
        "foo-1.0-py3-none-any$.whl | 'any$' is not a platform tag",
        "foo-1.0.tar.gz | it does not end in .whl",
      })
  void aMalformedWheelNameIsRefusedWithTheReason(String filename, String reason) {
    assertThatThrownBy(() -> WheelFilename.parse(filename))
        .isInstanceOf(IllegalArgumentException.class)
        .hasMessageStartingWith("'" + filename + "' is not a wheel file name: ")
        .hasMessageContaining(reason);
  }

  @Test
  void aNewlineInTheNameIsRefused() {
    assertThatThrownBy(() -> WheelFilename.parse("foo\n-1.0-py3-none-any.whl"))
        .hasMessageContaining("is not a valid distribution name");
  }

  @Test
  void buildTagsCompareByNumberThenText() {
    WheelFilename.BuildTag one = WheelFilename.parse("a-1-1-py3-none-any.whl").build().get();
    WheelFilename.BuildTag ten = WheelFilename.parse("a-1-10-py3-none-any.whl").build().get();
    WheelFilename.BuildTag tenB = WheelFilename.parse("a-1-10b-py3-none-any.whl").build().get();
    assertThat(one).isLessThan(ten);
    assertThat(ten).isLessThan(tenB);
    assertThat(tenB.number()).isEqualTo(10);
    assertThat(tenB.suffix()).isEqualTo("b");
  }

  @Test
  void aSingleTagReadsAndPrints() {
    WheelTag tag = WheelTag.parse("CP312-abi3-Manylinux_2_28_X86_64");
    assertThat(tag).isEqualTo(new WheelTag("cp312", "abi3", "manylinux_2_28_x86_64"));
    assertThat(tag).hasToString("cp312-abi3-manylinux_2_28_x86_64");
    assertThatThrownBy(() -> WheelTag.parse("py2.py3-none-any"))
        .hasMessageContaining("is a compressed set of tags, not one tag");
    assertThatThrownBy(() -> WheelTag.parse("py3-none"))
        .hasMessageContaining("is not a wheel tag such as py3-none-any");
  }

  @Test
  void compressedSetsExpandToEveryCombinationInTheOrderWritten() {
    assertThat(WheelTag.expand("py2.py3", "none.abi3", "any"))
        .extracting(WheelTag::toString)
        .containsExactly("py2-none-any", "py2-abi3-any", "py3-none-any", "py3-abi3-any");
    assertThat(WheelTag.expand("py3.py3", "none", "any")).hasSize(1);
  }
}
