package dev.kiln.cache;

import java.util.List;

/** A project's files as listed by the upstream index; {@code name} is PEP 503-normalized. */
record ProjectPage(String name, List<DistributionFile> files) {
  ProjectPage {
    files = List.copyOf(files);
  }
}
