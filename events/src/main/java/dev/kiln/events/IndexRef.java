package dev.kiln.events;

/**
 * A package index the build's tenant configured, as a worker may know it: its name and URL without
 * credentials. The worker reaches it only through the cache-service, which adds the credentials.
 */
public record IndexRef(String name, String url) {

  void validate(String field) throws InvalidEventException {
    Check.name(field + ".name", name);
    Check.text(field + ".url", url);
    if (url.contains("@")) {
      throw new InvalidEventException(
          field + ".url", "carries credentials; an index reference names the URL only");
    }
  }
}
