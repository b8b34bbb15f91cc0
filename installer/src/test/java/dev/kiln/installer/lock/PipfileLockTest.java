package dev.kiln.installer.lock;

import static dev.kiln.installer.lock.Fixtures.bytes;
import static dev.kiln.installer.lock.Fixtures.distribution;
import static dev.kiln.installer.lock.Fixtures.text;
import static dev.kiln.installer.lock.Fixtures.utf8;
import static dev.kiln.installer.lock.Fixtures.versions;
import static org.assertj.core.api.Assertions.assertThat;
import static org.assertj.core.api.Assertions.assertThatThrownBy;

import dev.kiln.events.Digest;
import dev.kiln.installer.Codes;
import dev.kiln.installer.InstallerException;
import dev.kiln.installer.LocalProject;
import dev.kiln.installer.LockedSet;
import dev.kiln.installer.lock.PipfileLock.Sections;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.params.ParameterizedTest;
import org.junit.jupiter.params.provider.ValueSource;

/**
 * Real fixtures (copied unchanged; see each directory's SOURCE.txt):
 *
 * <ul>
 *   <li>pipenv/todo-api: chun37/todo-api @ 98fc1df505ef3876e0be8dd3d377356aa69f2882 (develop
 *       section, [pipenv] table)
 *   <li>pipenv/flask-shopping-list: chuenen/Flask-Shopping-List @
 *       88aa4976f4e3439d61957bcd8a90ecec52dec041 (capitalized names)
 *   <li>pipenv/django-books: chungpv-1008/django-books @ f84bc22a61626240395276057333ac15cb523ad2
 *   <li>pipenv/parrot-lab: Gilbert-Omosa/python-p3-parrot-lab @
 *       56580e722d046b18fe89033e026c9811ddaa979c (python_full_version)
 *   <li>pipenv/todo-app: chukaibejih/todo_app @ 29ec3a9fc8317ce3adccbddf28cd4637a8a474d7
 *   <li>pipenv/postcard-stale: chuckkainrath/postcard @ 02a0a24dfe1a771e2654a438e36c98da5d7ecad2
 *       (genuinely stale: a merge removed `eventlet = "*"` from the Pipfile without relocking)
 * </ul>
 */
class PipfileLockTest {
  private static LockedSet read(String dir, Sections sections, String python)
      throws InstallerException {
    return PipfileLock.read(
        bytes("pipenv/" + dir + "/Pipfile.lock"),
        bytes("pipenv/" + dir + "/Pipfile"),
        sections,
        FakeMarkers.linux(python));
  }

  @ParameterizedTest
  @ValueSource(
      strings = {"todo-api", "flask-shopping-list", "django-books", "parrot-lab", "todo-app"})
  void realLockHashEqualsTheHashComputedFromThePipfile(String dir) throws Exception {
    var pipfile =
        Documents.toml(
            bytes("pipenv/" + dir + "/Pipfile"), "Pipfile", Codes.PIPFILE_LOCK_INVALID, "");

    assertThat(text("pipenv/" + dir + "/Pipfile.lock"))
        .contains("\"sha256\": \"" + PipfileHash.compute(pipfile, false) + "\"");
    assertThat(read(dir, Sections.DEFAULT, "3.10.15").distributions()).isNotEmpty();
  }

  @Test
  void defaultSectionWithHashesAndMarkers() throws Exception {
    LockedSet set = read("todo-app", Sections.DEFAULT, "3.10.15");

    assertThat(versions(set))
        .containsEntry("django", "4.1.2")
        .containsEntry("gunicorn", "20.1.0")
        .doesNotContainKey("tzdata"); // sys_platform == 'win32'
    var django = distribution(set, "django");
    assertThat(django.files()).isEmpty();
    assertThat(django.allowedHashes())
        .containsExactlyInAnyOrder(
            Digest.of("sha256:26dc24f99c8956374a054bcbf58aab8dc0cad2e6ac82b0fe036b752c00eee793"),
            Digest.of("sha256:b8d843714810ab88d59344507d4447be8b2cf12a49031363b6eed9f1b9b2280f"));
    assertThat(set.localProjects()).isEmpty();
  }

  @Test
  void developIsLeftOutUnlessCiAsksForIt() throws Exception {
    assertThat(versions(read("todo-api", Sections.DEFAULT, "3.10.15")))
        .containsKey("djangorestframework")
        .doesNotContainKeys("black", "requests");
    assertThat(versions(read("todo-api", Sections.DEFAULT_AND_DEVELOP, "3.10.15")))
        .containsKeys("djangorestframework", "black", "requests")
        .doesNotContainKey("typing-extensions"); // python_version < '3.10'
  }

  @Test
  void markersFollowTheTargetPython() throws Exception {
    assertThat(versions(read("parrot-lab", Sections.DEFAULT, "3.10.15")))
        .containsKey("exceptiongroup"); // python_version < '3.11'
    assertThat(versions(read("parrot-lab", Sections.DEFAULT, "3.12.7")))
        .doesNotContainKey("exceptiongroup");
  }

  @Test
  void changedPackageInThePipfileMakesTheRealLockStale() {
    String dir = "todo-api";
    String pipfile = text("pipenv/" + dir + "/Pipfile").replace("==0.22.0", "==0.22.1");

    assertThatThrownBy(
            () ->
                PipfileLock.read(
                    bytes("pipenv/" + dir + "/Pipfile.lock"),
                    utf8(pipfile),
                    Sections.DEFAULT,
                    FakeMarkers.linux("3.10.15")))
        .isInstanceOf(InstallerException.class)
        .hasFieldOrPropertyWithValue("code", Codes.PIPFILE_LOCK_STALE)
        .hasMessageContaining("Pipfile.lock")
        .hasMessageContaining("pipenv lock");
  }

  @Test
  void realLockLeftBehindByAMergeIsStale() {
    assertThatThrownBy(() -> read("postcard-stale", Sections.DEFAULT, "3.9.20"))
        .hasFieldOrPropertyWithValue("code", Codes.PIPFILE_LOCK_STALE)
        .hasMessageContaining("0032f34562cb");
  }

  @Test
  void devPackagesCountForTheHashToo() {
    String dir = "todo-api";
    String pipfile =
        text("pipenv/" + dir + "/Pipfile").replace("black = \"*\"", "black = \"==22.1.0\"");

    assertThatThrownBy(
            () ->
                PipfileLock.read(
                    bytes("pipenv/" + dir + "/Pipfile.lock"),
                    utf8(pipfile),
                    Sections.DEFAULT,
                    FakeMarkers.linux("3.10.15")))
        .hasFieldOrPropertyWithValue("code", Codes.PIPFILE_LOCK_STALE);
  }

  @Test
  void hashOfNewerPipenvWithNormalizedNamesIsAcceptedToo() throws Exception {
    String dir = "flask-shopping-list";
    var pipfile =
        Documents.toml(
            bytes("pipenv/" + dir + "/Pipfile"), "Pipfile", Codes.PIPFILE_LOCK_INVALID, "");
    String normalized = PipfileHash.compute(pipfile, true);
    String lock =
        text("pipenv/" + dir + "/Pipfile.lock")
            .replace(PipfileHash.compute(pipfile, false), normalized);

    // computed by CPython from pipenv's calculate_hash (names canonicalized before json.dumps)
    assertThat(normalized)
        .isEqualTo("59a9feb3e63c8ebe51dc34af49f09e0ee6c009fabdbdc453436b33caa5cefd9d");
    assertThat(
            PipfileLock.read(
                    utf8(lock),
                    bytes("pipenv/" + dir + "/Pipfile"),
                    Sections.DEFAULT,
                    FakeMarkers.linux("3.9.20"))
                .distributions())
        .isNotEmpty();
  }

  // Hand-written edge cases.

  /** No [[source]]: plette adds PyPI before hashing. Hashes below were computed by CPython. */
  private static final String PIPFILE =
      """
      [packages]
      Flask = {version = "==3.0.3", extras = ["async"]}
      "app" = {path = ".", editable = true}
      gunicorn = "*"

      [dev-packages]
      pytest = ">=8"

      [requires]
      python_version = "3.12"

      [scripts]
      serve = "gunicorn app:app"
      """;

  private static final String LEGACY_HASH =
      "b996844659f5d9db7378fac3d00c43c7423dd6de8cf64500b768e9b08e7bdadc";

  private static String lock(String hash, String extraDefault) {
    return """
        {
          "_meta": {
            "hash": {"sha256": "%s"},
            "pipfile-spec": 6,
            "requires": {"python_version": "3.12"},
            "sources": [{"name": "pypi", "url": "https://pypi.org/simple", "verify_ssl": true}]
          },
          "default": {
            "app": {"editable": true, "path": "."},
            "flask": {
              "extras": ["async"],
              "hashes": ["sha256:%s", "md5:0123"],
              "index": "pypi",
              "markers": "python_version >= '3.8'",
              "version": "==3.0.3"
            },
            "gunicorn": {"hashes": [], "version": "==23.0.0"}%s
          },
          "develop": {
            "pytest": {"hashes": ["sha256:%s"], "version": "==8.3.3"}
          }
        }
        """
        .formatted(hash, "a".repeat(64), extraDefault, "b".repeat(64));
  }

  private static LockedSet handWritten(String lock, Sections sections) throws Exception {
    return PipfileLock.read(utf8(lock), utf8(PIPFILE), sections, FakeMarkers.linux("3.12.7"));
  }

  @Test
  void pipfileWithoutSourceHashesWithThePypiSourcePipenvAdds() throws Exception {
    var pipfile = Documents.toml(utf8(PIPFILE), "Pipfile", Codes.PIPFILE_LOCK_INVALID, "");

    assertThat(PipfileHash.compute(pipfile, false)).isEqualTo(LEGACY_HASH);
    assertThat(PipfileHash.compute(pipfile, true))
        .isEqualTo("805a4d1caf564633dcc4d6ffd5cb9bcce547032acb548eae3aa66b26caf8c1f8");
  }

  @Test
  void editablePathIsALocalProjectAndOnlySha256HashesCount() throws Exception {
    LockedSet set = handWritten(lock(LEGACY_HASH, ""), Sections.DEFAULT);

    assertThat(set.localProjects()).containsExactly(new LocalProject(".", true));
    assertThat(versions(set)).containsOnlyKeys("flask", "gunicorn");
    assertThat(distribution(set, "flask").allowedHashes())
        .containsExactly(Digest.ofHex("a".repeat(64)));
    assertThat(distribution(set, "gunicorn").allowedHashes()).isEmpty();
  }

  @Test
  void gitEntryFailsWithCode() {
    String git =
        ",\n\"six\": {\"git\": \"https://github.com/benjaminp/six.git\", \"ref\": \"abc\"}";

    assertThatThrownBy(() -> handWritten(lock(LEGACY_HASH, git), Sections.DEFAULT))
        .hasFieldOrPropertyWithValue("code", Codes.PIPFILE_LOCK_UNSUPPORTED_SOURCE)
        .hasMessageContaining("'six'")
        .hasMessageContaining("git");
  }

  @Test
  void unknownPipfileSpecFailsWithCode() {
    String lock = lock(LEGACY_HASH, "").replace("\"pipfile-spec\": 6", "\"pipfile-spec\": 7");

    assertThatThrownBy(() -> handWritten(lock, Sections.DEFAULT))
        .hasFieldOrPropertyWithValue("code", Codes.PIPFILE_LOCK_UNSUPPORTED_VERSION)
        .hasMessageContaining("pipfile-spec 1 to 6");
  }

  @Test
  void invalidJsonAndMissingPipfileFailWithCodes() {
    assertThatThrownBy(
            () ->
                PipfileLock.read(
                    utf8("{\"default\": "),
                    utf8(PIPFILE),
                    Sections.DEFAULT,
                    FakeMarkers.linux("3.12.7")))
        .hasFieldOrPropertyWithValue("code", Codes.PIPFILE_LOCK_INVALID_JSON);
    assertThatThrownBy(
            () ->
                PipfileLock.read(
                    utf8(lock(LEGACY_HASH, "")),
                    null,
                    Sections.DEFAULT,
                    FakeMarkers.linux("3.12.7")))
        .hasFieldOrPropertyWithValue("code", Codes.PIPFILE_LOCK_INVALID)
        .hasMessageContaining("no Pipfile");
  }
}
