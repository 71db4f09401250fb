using TorchSharp.Modules;

namespace PetsML.Trainers.Modeling;

/// <summary>
/// One of fastai's parameter groups (for a ResNet: 0 = stem, layer1, layer2; 1 = layer3, layer4;
/// 2 = the head). Learning rates given as a slice are spread over the groups; freezing works per group.
/// </summary>
/// <param name="Name">A readable name, e.g. "body.early".</param>
/// <param name="Parameters">Every trainable parameter of the group, with its state-dict name.</param>
/// <param name="NormParameterNames">
/// Names of the parameters that belong to normalisation layers (BatchNorm): they get no weight decay
/// and stay trainable when the group is frozen (fastai's wd_bn_bias=False and train_bn=True).
/// </param>
internal sealed record ParameterGroup(
    string Name,
    IReadOnlyList<(string Name, Parameter Parameter)> Parameters,
    IReadOnlySet<string> NormParameterNames)
{
    /// <summary>True when the parameter belongs to a normalisation layer.</summary>
    public bool IsNorm(string parameterName) => NormParameterNames.Contains(parameterName);
}
