using PetsML.Trainers.Interop.Onnx;
using TorchSharp;
using TorchSharp.Modules;
using static TorchSharp.torch;

namespace PetsML.Trainers.Modeling;

/// <summary>
/// fastai's vision_learner model: a ResNet <see cref="ResNetBody"/> followed by a <see cref="FastaiHead"/>,
/// with an optional fixed per-channel affine map in front (y = x·input_scale + input_shift) for data that was
/// normalised with other statistics than the body expects. State-dict names: <c>body.*</c>, <c>head.*</c>,
/// <c>input_scale</c>, <c>input_shift</c>.
/// </summary>
internal sealed class ImageClassifier : nn.Module<Tensor, Tensor>, IReplicableModule
{
    /// <summary>Names of the body's children in fastai's parameter group 0 (body[0:6]; relu and maxpool have no parameters).</summary>
    private static readonly string[] EarlyBodyChildren = ["conv1", "bn1", "layer1", "layer2"];

    private readonly ResNetBody body;
    private readonly FastaiHead head;
    private readonly Tensor input_scale;
    private readonly Tensor input_shift;

    /// <summary>The ResNet body.</summary>
    public ResNetBody Body => body;

    /// <summary>The classification head.</summary>
    public FastaiHead Head => head;

    /// <summary>
    /// The statistics the body's weights were trained with (before any input re-normalisation): the packaged
    /// CNTK ResNet-18's for <see cref="ResNetArchitecture.ResNet18Packaged"/>, ImageNet's for torchvision bodies.
    /// </summary>
    public ChannelStatistics ModelStatistics => body.Architecture == ResNetArchitecture.ResNet18Packaged
        ? ChannelStatistics.PackagedResNet18
        : ChannelStatistics.ImageNet;

    /// <summary>Joins a body and a head; the input re-normalisation starts as the identity.</summary>
    public ImageClassifier(ResNetBody body, FastaiHead head) : base(nameof(ImageClassifier))
    {
        ArgumentNullException.ThrowIfNull(body);
        ArgumentNullException.ThrowIfNull(head);
        if (head.InputChannels != body.OutputChannels)
            throw new ArgumentException(
                $"The head expects {head.InputChannels} channels but the body outputs {body.OutputChannels}.", nameof(head));
        this.body = body;
        this.head = head;
        // Always registered (identity by default) so every classifier has the same state-dict keys.
        input_scale = torch.ones(1, 3, 1, 1);
        input_shift = torch.zeros(1, 3, 1, 1);
        RegisterComponents();
    }

    /// <summary>
    /// Most classes a classifier may have: above ImageNet-21k's 21,841. The head's last layer then holds at most
    /// 512 × 30,000 weights (61 MB in fp32), so a model file or a label column cannot make it allocate more.
    /// </summary>
    public const int MaxClasses = PetsML.Transforms.Interop.MlNet.ModelFileLimits.MaxLabels;

    /// <summary>
    /// Builds a classifier for <paramref name="nClasses"/> classes.
    /// </summary>
    /// <param name="architecture">The body.</param>
    /// <param name="nClasses">Number of classes (at least 2).</param>
    /// <param name="seed">Seed of every random draw: the head's linears, then (when not pretrained) the body.</param>
    /// <param name="pretrained">
    /// Load trained body weights: the ImageNet weights packaged with PetsML for
    /// <see cref="ResNetArchitecture.ResNet18Packaged"/>, or <paramref name="bodyWeightsPath"/> for any architecture.
    /// </param>
    /// <param name="bodyWeightsPath">
    /// Optional weight file for the body (.dat, .pth/.pt, .safetensors; see <see cref="WeightFiles.Load"/>). A full
    /// torchvision model file works: its <c>fc.*</c> tensors are skipped. Requires <paramref name="pretrained"/>.
    /// </param>
    /// <remarks>
    /// The head is drawn first so that the same seed gives the same head whether or not the body is pretrained.
    /// </remarks>
    public static ImageClassifier Create(
        ResNetArchitecture architecture, int nClasses, int seed, bool pretrained, string? bodyWeightsPath = null)
    {
        if (nClasses is < 1 or > MaxClasses)
            throw new ArgumentOutOfRangeException(nameof(nClasses), nClasses, $"A classifier has between 1 and {MaxClasses:N0} classes.");
        if (bodyWeightsPath is not null && !pretrained)
            throw new ArgumentException(
                "A body weight file was given with pretrained: false; pass pretrained: true to load it.", nameof(bodyWeightsPath));
        if (pretrained && bodyWeightsPath is null && architecture != ResNetArchitecture.ResNet18Packaged)
            throw new ArgumentException(
                $"No pretrained weights ship for {architecture}: only {ResNetArchitecture.ResNet18Packaged} has them. " +
                "Pass a weight file (bodyWeightsPath) or pretrained: false.", nameof(pretrained));

        using var generator = new Generator((ulong)seed);
        var outputChannels = architecture == ResNetArchitecture.ResNet50 ? 2048 : 512;
        var head = new FastaiHead(outputChannels, nClasses, generator);
        ResNetBody body;
        if (!pretrained)
        {
            body = ResNetBody.Create(architecture, generator);
        }
        else
        {
            body = ResNetBody.CreateForLoading(architecture);
            if (bodyWeightsPath is null)
                PackagedResNet18.LoadInto(body);
            else
                WeightFiles.Load(body, bodyWeightsPath, skip: ["fc.*"]);
        }
        return new ImageClassifier(body, head);
    }

    /// <summary>
    /// The per-channel affine map that turns data normalised with (<paramref name="dataMean"/>,
    /// <paramref name="dataStd"/>) into data normalised with (<paramref name="modelMean"/>, <paramref name="modelStd"/>):
    /// x_model = x_data·sd/sm + (md − mm)/sm.
    /// </summary>
    public static (float[] Scale, float[] Shift) RenormalizationFor(
        float[] dataMean, float[] dataStd, float[] modelMean, float[] modelStd)
    {
        CheckChannels(dataMean, nameof(dataMean));
        CheckChannels(dataStd, nameof(dataStd), positive: true);
        CheckChannels(modelMean, nameof(modelMean));
        CheckChannels(modelStd, nameof(modelStd), positive: true);
        var scale = new float[3];
        var shift = new float[3];
        for (var c = 0; c < 3; c++)
        {
            scale[c] = (float)((double)dataStd[c] / modelStd[c]);
            shift[c] = (float)(((double)dataMean[c] - modelMean[c]) / modelStd[c]);
        }
        return (scale, shift);
    }

    /// <summary>Sets the fixed input map y = x·scale + shift (per RGB channel). Identity: scale 1, shift 0.</summary>
    public void SetInputRenormalization(float[] scale, float[] shift)
    {
        CheckChannels(scale, nameof(scale));
        CheckChannels(shift, nameof(shift));
        using var noGrad = torch.no_grad();
        using var s = torch.tensor(scale, [1, 3, 1, 1]);
        using var b = torch.tensor(shift, [1, 3, 1, 1]);
        input_scale.copy_(s);
        input_shift.copy_(b);
    }

    /// <summary>
    /// fastai's three parameter groups for a ResNet (<c>_resnet_split</c>): 0 "body.early" = conv1, bn1, layer1,
    /// layer2; 1 "body.late" = layer3, layer4; 2 "head". Every parameter appears exactly once, under its
    /// state-dict name; the norm names are the parameters of the BatchNorm layers.
    /// </summary>
    public IReadOnlyList<ParameterGroup> GetParameterGroups()
    {
        var normNames = new HashSet<string>(StringComparer.Ordinal);
        foreach (var (moduleName, module) in named_modules())
        {
            if (module is not BatchNorm) continue;
            foreach (var (parameterName, _) in module.named_parameters())
                normNames.Add($"{moduleName}.{parameterName}");
        }

        var early = new List<(string, Parameter)>();
        var late = new List<(string, Parameter)>();
        var headGroup = new List<(string, Parameter)>();
        foreach (var (name, parameter) in named_parameters())
        {
            if (name.StartsWith("head.", StringComparison.Ordinal))
            {
                headGroup.Add((name, parameter));
                continue;
            }
            if (!name.StartsWith("body.", StringComparison.Ordinal))
                throw new InvalidOperationException($"Parameter '{name}' belongs to neither the body nor the head.");
            var child = name.Split('.')[1];
            (EarlyBodyChildren.Contains(child) ? early : late).Add((name, parameter));
        }

        return
        [
            Group("body.early", early),
            Group("body.late", late),
            Group("head", headGroup),
        ];

        ParameterGroup Group(string groupName, List<(string Name, Parameter Parameter)> parameters) =>
            new(groupName, parameters, parameters.Select(p => p.Name).Where(normNames.Contains).ToHashSet(StringComparer.Ordinal));
    }

    /// <summary>
    /// An independent copy: same architecture and state-dict names, every parameter and buffer copied onto the same
    /// device (as fp32, the dtype a built model has), the same dropout mask generators (shared, so the masks it draws advance the original's state), same train/eval mode, same requires_grad flags.
    /// </summary>
    public ImageClassifier CreateReplica()
    {
        var replica = new ImageClassifier(ResNetBody.CreateForLoading(body.Architecture), head.CreateStructuralCopy());
        var source = state_dict();
        replica.to(source.Values.First().device);
        using (torch.no_grad())
        {
            foreach (var (name, tensor) in replica.state_dict())
            {
                if (!source.TryGetValue(name, out var original))
                    throw new InvalidOperationException($"The replica has a tensor '{name}' the original lacks.");
                tensor.copy_(original);
            }
        }
        var originalParameters = named_parameters().ToDictionary(p => p.name, p => p.parameter, StringComparer.Ordinal);
        foreach (var (name, parameter) in replica.named_parameters())
            parameter.requires_grad = originalParameters[name].requires_grad;
        replica.train(training);
        foreach (var (original, copy) in modules().OfType<SeededDropout>().Zip(replica.modules().OfType<SeededDropout>()))
            copy.ShareGeneratorOf(original);
        return replica;
    }

    nn.Module<Tensor, Tensor> IReplicableModule.CreateReplica() => CreateReplica();

    public override Tensor forward(Tensor x)
    {
        using var scope = torch.NewDisposeScope();
        return head.call(BodyActivations(x)).MoveToOuterDisposeScope();
    }

    /// <summary><see cref="forward"/>, also returning the pooled body features and the head's penultimate ones (<see cref="FastaiHead.ForwardWithFeatures"/>).</summary>
    public (Tensor Logits, Tensor Pooled, Tensor Penultimate) ForwardWithFeatures(Tensor x)
    {
        using var scope = torch.NewDisposeScope();
        var (logits, pooled, penultimate) = head.ForwardWithFeatures(BodyActivations(x));
        return (logits.MoveToOuterDisposeScope(), pooled.MoveToOuterDisposeScope(), penultimate.MoveToOuterDisposeScope());
    }

    /// <summary>The body's output for <paramref name="x"/> (the input map applied): the last block's activations, what Grad-CAM weighs.</summary>
    internal Tensor BodyActivations(Tensor x)
    {
        using var scope = torch.NewDisposeScope();
        return body.call(x.mul(input_scale).add_(input_shift)).MoveToOuterDisposeScope();
    }

    private static void CheckChannels(float[] values, string name, bool positive = false)
    {
        ArgumentNullException.ThrowIfNull(values, name);
        if (values.Length != 3)
            throw new ArgumentException($"{name} needs one value per RGB channel (3), got {values.Length}.", name);
        if (values.Any(v => !float.IsFinite(v) || (positive && v <= 0)))
            throw new ArgumentException($"{name} must hold finite{(positive ? ", positive" : "")} values: [{string.Join(", ", values)}].", name);
    }
}
