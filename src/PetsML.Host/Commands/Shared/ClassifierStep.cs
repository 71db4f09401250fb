using Microsoft.ML;
using Microsoft.ML.Data;
using System.Diagnostics.CodeAnalysis;

namespace PetsML.Host.Commands.Shared;

/// <summary>
/// A saved model cut at its last step, PetsML's classifier, so that rows can be chosen (the validation photos) or
/// augmented (test-time augmentation) between the data steps and the network.
/// </summary>
public static class ClassifierStep
{
    /// <summary>
    /// The steps before the classifier (an empty chain when there are none) and the classifier; false when the model's
    /// last step is not PetsML's classifier.
    /// </summary>
    public static bool TrySplit(ITransformer model, out ITransformer before, [NotNullWhen(true)] out ImageClassifierTransformer? classifier)
    {
        var steps = (model as IEnumerable<ITransformer>)?.ToList() ?? [model];
        before = new TransformerChain<ITransformer>(steps.Take(steps.Count - 1).ToArray());
        classifier = steps.Count > 0 ? steps[^1] as ImageClassifierTransformer : null;
        return classifier is not null;
    }
}
