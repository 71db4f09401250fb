using PetsML.Trainers.Modeling;
namespace PetsML;

/// <summary>The ResNet bodies PetsML can build, all in torchvision's layout (state-dict names included).</summary>
public enum ResNetArchitecture
{
    /// <summary>
    /// BasicBlock with [2, 2, 2, 3] blocks per stage: CNTK's ImageNet ResNet-18, whose trained weights ship in the
    /// NuGet package Microsoft.ML.DnnImageFeaturizer.ResNet18 (layer4 has a third block that torchvision's lacks).
    /// </summary>
    ResNet18Packaged,

    /// <summary>torchvision's resnet18: BasicBlock, [2, 2, 2, 2].</summary>
    ResNet18,

    /// <summary>torchvision's resnet34: BasicBlock, [3, 4, 6, 3].</summary>
    ResNet34,

    /// <summary>torchvision's resnet50 (v1.5, stride on the 3x3 conv): Bottleneck, [3, 4, 6, 3].</summary>
    ResNet50,
}
