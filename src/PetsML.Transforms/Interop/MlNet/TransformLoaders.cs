using Microsoft.ML.Runtime;
using PetsML.Transforms.Augmentation;
using PetsML.Transforms.Labeling;
using PetsML.Transforms.Presizing;
using PetsML.Transforms.Splitting;

namespace PetsML.Transforms.Interop.MlNet;

/// <summary>The model loaders of PetsML.Transforms (see <see cref="PetsMLRegistration"/>).</summary>
internal sealed class TransformLoaders : IComponentLoaders
{
    public void Register(ComponentCatalog catalog)
    {
        MlNetInternals.RegisterLoader(catalog, FileLabelTransformer.Version, FileLabelTransformer.Load);
        MlNetInternals.RegisterLoader(catalog, RandomSplitTransformer.Version, RandomSplitTransformer.Load);
        MlNetInternals.RegisterLoader(catalog, FolderSplitTransformer.Version, FolderSplitTransformer.Load);
        MlNetInternals.RegisterLoader(catalog, PresizeTransformer.Version, PresizeTransformer.Load);
        MlNetInternals.RegisterLoader(catalog, AugmentTransformer.Version, AugmentTransformer.Load);
    }
}
