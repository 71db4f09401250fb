using Microsoft.ML.Runtime;
using PetsML.Trainers.FineTuning;
using PetsML.Transforms.Interop.MlNet;

namespace PetsML.Trainers.Interop.MlNet;

/// <summary>The model loaders of PetsML.Trainers (found by <c>mlContext.RegisterPetsML()</c>).</summary>
internal sealed class TrainerLoaders : IComponentLoaders
{
    public void Register(ComponentCatalog catalog)
        => MlNetInternals.RegisterLoader(catalog, ImageClassifierTransformer.Version, ImageClassifierTransformer.Load);
}
