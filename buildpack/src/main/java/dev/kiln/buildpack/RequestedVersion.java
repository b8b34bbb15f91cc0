package dev.kiln.buildpack;

/** A Python version as an app's file asked for it: the text as written and its numbers. */
record RequestedVersion(String text, VersionNumber number) {
  static RequestedVersion of(String text) {
    return new RequestedVersion(
        text,
        VersionNumber.parse(text)
            .orElseThrow(() -> new IllegalArgumentException("not a version: " + text)));
  }
}
