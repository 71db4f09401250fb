using System.Runtime.CompilerServices;
using Microsoft.ML;
using Microsoft.ML.Runtime;
using PetsML;
using PetsML.Trainers.FineTuning;
using PetsML.Trainers.Interop.MlNet;
using PetsML.Transforms.Interop.MlNet;

// ML.NET reads this when a model names this assembly, so mlContext.Model.Load needs no registration call
// (see PetsML.Transforms' TransformLoaders.cs and build/MlNetInternals/PublicizeMlNet.targets).
[assembly: IgnoresAccessChecksTo("Microsoft.ML.Core")]
[assembly: IgnoresAccessChecksTo("Microsoft.ML.Data")]
[assembly: LoadableClass(typeof(ImageClassifierTransformer), typeof(TrainerLoaders.ImageClassifier), null, typeof(SignatureLoadModel),
    "PetsML image classifier", "PetsMLImageClassifier")]

namespace PetsML.Trainers.Interop.MlNet;

/// <summary>The model loaders of PetsML.Trainers (found by ML.NET through the LoadableClass attribute above).</summary>
internal static class TrainerLoaders
{
    internal static class ImageClassifier
    {
        static ImageClassifierTransformer Create(IHostEnvironment env, ModelLoadContext ctx)
            => MlNetInternals.Load(env, ctx, ImageClassifierTransformer.Version, ImageClassifierTransformer.Load);
    }
}
