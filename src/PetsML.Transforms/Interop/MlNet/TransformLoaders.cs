using System.Runtime.CompilerServices;
using Microsoft.ML;
using Microsoft.ML.Runtime;
using PetsML;
using PetsML.Transforms.Augmentation;
using PetsML.Transforms.Interop.MlNet;
using PetsML.Transforms.Labeling;
using PetsML.Transforms.Presizing;

// ML.NET reads these when a model names this assembly, so mlContext.Model.Load needs no registration call
// (internal ML.NET types, compiled against publicized references: build/MlNetInternals/PublicizeMlNet.targets).
[assembly: IgnoresAccessChecksTo("Microsoft.ML.Core")]
[assembly: IgnoresAccessChecksTo("Microsoft.ML.Data")]
[assembly: LoadableClass(typeof(FileLabelTransformer), typeof(TransformLoaders.FileLabel), null, typeof(SignatureLoadModel), "PetsML file label", "PetsMLFileLabel")]
[assembly: LoadableClass(typeof(RandomSplitTransformer), typeof(TransformLoaders.RandomSplit), null, typeof(SignatureLoadModel), "PetsML random split", "PetsMLRandomSplit")]
[assembly: LoadableClass(typeof(FolderSplitTransformer), typeof(TransformLoaders.FolderSplit), null, typeof(SignatureLoadModel), "PetsML folder split", "PetsMLFolderSplit")]
[assembly: LoadableClass(typeof(PresizeTransformer), typeof(TransformLoaders.Presize), null, typeof(SignatureLoadModel), "PetsML presize", "PetsMLPresize")]
[assembly: LoadableClass(typeof(AugmentTransformer), typeof(TransformLoaders.Augment), null, typeof(SignatureLoadModel), "PetsML augment", "PetsMLAugment")]

namespace PetsML.Transforms.Interop.MlNet;

/// <summary>
/// The model loaders of PetsML.Transforms, one class per component (ML.NET looks for a static
/// <c>Create(IHostEnvironment, ModelLoadContext)</c> on the loader type named in each LoadableClass attribute above).
/// </summary>
internal static class TransformLoaders
{
    internal static class FileLabel
    {
        static FileLabelTransformer Create(IHostEnvironment env, ModelLoadContext ctx) => MlNetInternals.Load(env, ctx, FileLabelTransformer.Version, FileLabelTransformer.Load);
    }

    internal static class RandomSplit
    {
        static RandomSplitTransformer Create(IHostEnvironment env, ModelLoadContext ctx) => MlNetInternals.Load(env, ctx, RandomSplitTransformer.Version, RandomSplitTransformer.Load);
    }

    internal static class FolderSplit
    {
        static FolderSplitTransformer Create(IHostEnvironment env, ModelLoadContext ctx) => MlNetInternals.Load(env, ctx, FolderSplitTransformer.Version, FolderSplitTransformer.Load);
    }

    internal static class Presize
    {
        static PresizeTransformer Create(IHostEnvironment env, ModelLoadContext ctx) => MlNetInternals.Load(env, ctx, PresizeTransformer.Version, PresizeTransformer.Load);
    }

    internal static class Augment
    {
        static AugmentTransformer Create(IHostEnvironment env, ModelLoadContext ctx) => MlNetInternals.Load(env, ctx, AugmentTransformer.Version, AugmentTransformer.Load);
    }
}
