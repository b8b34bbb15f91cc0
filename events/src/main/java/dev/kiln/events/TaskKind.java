package dev.kiln.events;

/** The three steps of every buildpack build, in order. */
public enum TaskKind {
  /** Fetch the commit and apply the buildpack rules: a build plan or a coded failure. */
  DETECT,
  /** Install the dependency set into a shared, content-addressed layer. */
  INSTALL,
  /** Put base image, dependency layer and app together and push the image. */
  ASSEMBLE
}
