// Tests that train or touch libtorch use both cores each; running classes in parallel would only
// make them fight for the same two cores.
[assembly: DoNotParallelize]
