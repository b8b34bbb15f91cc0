package dev.kiln.installer;

import java.util.Objects;

/**
 * The app itself, or another directory of its repository, installed as a project (a {@code .} or
 * {@code -e .} requirement, a setup.py-only app, a packaged uv or Poetry root). It is built into a
 * wheel from the app's source and goes into the app layer, never the shared dependency layer.
 *
 * @param path relative to the app's source directory ({@code .} for the app itself)
 * @param editable whether it was asked for as editable ({@code -e}); the app's source is on the
 *     image's {@code PYTHONPATH} anyway, so this only decides how its metadata is installed
 */
public record LocalProject(String path, boolean editable) {
  public LocalProject {
    Objects.requireNonNull(path, "path");
  }
}
