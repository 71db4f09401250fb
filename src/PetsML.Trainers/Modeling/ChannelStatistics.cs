namespace PetsML.Trainers.Modeling;

/// <summary>
/// Per-channel mean and standard deviation (RGB order, pixel values in 0..1) of the input a network expects:
/// x = (pixel − Mean) / Std. The named instances are fresh objects on every read, so nobody can alter another's arrays.
/// </summary>
internal sealed record ChannelStatistics(float[] Mean, float[] Std)
{
    /// <summary>
    /// What the packaged CNTK ResNet-18 expects: its per-channel ImageNet mean and no scaling, i.e. 0..255 pixels
    /// minus the mean (std = 1/255 on the 0..1 scale).
    /// </summary>
    public static ChannelStatistics PackagedResNet18 =>
        new([0.482948f, 0.454521f, 0.404167f], [1 / 255f, 1 / 255f, 1 / 255f]);

    /// <summary>torchvision's (and fastai's <c>imagenet_stats</c>) ImageNet statistics.</summary>
    public static ChannelStatistics ImageNet =>
        new([0.485f, 0.456f, 0.406f], [0.229f, 0.224f, 0.225f]);
}
