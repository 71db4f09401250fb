using System.Collections.Concurrent;
using System.Diagnostics;
using Microsoft.ML;
using Microsoft.ML.Data;

namespace PetsML.Tests.Serving;

/// <summary>The batched predictor: what batching does to the bits, and a model swap with no failed or mixed answer.</summary>
[TestClass]
public sealed class PetsPredictorTests
{
    static ServedModels s_models = null!;

    [ClassInitialize]
    public static void TrainModels(TestContext _) => s_models = new ServedModels();

    [ClassCleanup]
    public static void DeleteModels() => s_models?.Dispose();

    sealed class ScoreRow
    {
        public float[] Score { get; set; } = [];
        public float OutlierScore { get; set; }
        public bool IsUnknown { get; set; }
    }

    static PetsPredictor Predictor(string model, bool watch = false) => new(new PetsPredictionOptions
    {
        ModelPath = model, WatchModelFile = watch, MaxConcurrentPredictions = 4,
    });

    [TestMethod]
    public void Predictions_from_bytes_match_the_whole_pipeline_on_the_file_and_the_model_learned()
    {
        using var predictor = Predictor(s_models.ModelA);
        var ml = new MLContext();
        using var model = (TransformerChain<ITransformer>)ml.Model.Load(s_models.ModelA, out _);
        using var engine = ml.Model.CreatePredictionEngine<ImageFileRow, ScoreRow>(model);
        int right = 0;
        foreach (var image in s_models.Images)
        {
            var prediction = predictor.Predict(File.ReadAllBytes(image));
            var expected = engine.Predict(new ImageFileRow { ImagePath = image });
            CollectionAssert.AreEqual(expected.Score, prediction.Probabilities, image);
            Assert.IsTrue(float.IsFinite(prediction.OutlierScore), "a calibrated model gives every image an outlier score");
            Assert.AreEqual(expected.OutlierScore, prediction.OutlierScore, image);
            Assert.AreEqual(expected.IsUnknown, prediction.IsUnknown, image);
            if (Path.GetFileName(image).StartsWith(prediction.Label + "_", StringComparison.Ordinal)) right++;
            Assert.AreEqual(3, prediction.Top.Count);
            Assert.AreEqual(prediction.Probabilities.Max(), prediction.Probability);
        }
        Assert.IsTrue(s_models.ErrorRateA < 0.5, $"validation error {s_models.ErrorRateA} should be below chance (0.67)");
        Assert.IsTrue(right > s_models.Images.Count / 2, $"{right} of {s_models.Images.Count} right: well above chance (1/3)");
    }

    /// <summary>
    /// How far a batched answer may be from the same image alone: libtorch's kernels block a batch's rows by the batch's
    /// size, so the last bits of fp32 probabilities depend on it (measured here: at most 1e-6). Different models are
    /// thousands of times farther apart (checked where it matters).
    /// </summary>
    const float BatchRounding = 1e-5f;

    static float MaxDifference(float[] a, float[] b) => a.Zip(b, (x, y) => Math.Abs(x - y)).Max();

    [TestMethod]
    public void A_batch_is_deterministic_and_within_rounding_of_each_image_alone_and_a_batch_of_one_is_exact()
    {
        using var predictor = Predictor(s_models.ModelA);
        var model = predictor.CurrentModel;
        var features = s_models.Images.Select(i => model.Features(File.ReadAllBytes(i))).ToArray();
        var alone = features.Select(f => model.Score([f])[0].Probabilities).ToArray();
        float worst = 0;
        int differing = 0, rows = 0;
        foreach (int n in new[] { 1, 2, 3, 4, 5, 7, 8, 16, 31, 32 })
        {
            int[] index = Enumerable.Range(0, n).Select(i => (i * 7 + n) % features.Length).ToArray();
            var scores = model.Score(index.Select(i => features[i]).ToList()).Select(s => s.Probabilities).ToArray();
            var again = model.Score(index.Select(i => features[i]).ToList()).Select(s => s.Probabilities).ToArray();
            for (int i = 0; i < n; i++)
            {
                CollectionAssert.AreEqual(scores[i], again[i], $"the same batch twice, size {n}, row {i}");
                if (n == 1) CollectionAssert.AreEqual(alone[index[i]], scores[i], "a batch of one is the single-image pass");
                float difference = MaxDifference(alone[index[i]], scores[i]);
                worst = Math.Max(worst, difference);
                rows++;
                if (difference > 0) differing++;
            }
        }
        Assert.IsTrue(worst <= BatchRounding, $"batched rows differ from the image alone by up to {worst:E2}");
        Console.WriteLine($"{differing} of {rows} batched rows differ from the image alone; at most {worst:E2}");
    }

    [TestMethod]
    public void Concurrent_predictions_are_batched_and_match_single_threaded_ones_within_rounding()
    {
        using var predictor = Predictor(s_models.ModelA);
        var bytes = s_models.Images.Select(File.ReadAllBytes).ToArray();
        var expected = bytes.Select(b => predictor.Predict(b).Probabilities).ToArray();
        Assert.AreEqual(1, predictor.LargestBatch, "one thread: every pass is one image");
        var results = new ConcurrentBag<(int Image, float[] Probabilities)>();
        Parallel.For(0, 8 * bytes.Length, new ParallelOptions { MaxDegreeOfParallelism = 8 },
            i => results.Add((i % bytes.Length, predictor.Predict(bytes[i % bytes.Length]).Probabilities)));
        Assert.HasCount(8 * bytes.Length, results);
        Assert.IsGreaterThan(1, predictor.LargestBatch, "8 clients should have shared forward passes");
        foreach (var (image, probabilities) in results)
            Assert.IsTrue(MaxDifference(expected[image], probabilities) <= BatchRounding, $"image {image}: {MaxDifference(expected[image], probabilities):E2}");
    }

    [TestMethod]
    public void With_batches_of_one_concurrent_predictions_equal_single_threaded_ones_bit_for_bit()
    {
        using var predictor = new PetsPredictor(new PetsPredictionOptions
        {
            ModelPath = s_models.ModelA, WatchModelFile = false, MaxConcurrentPredictions = 4, MaxBatchSize = 1,
        });
        var bytes = s_models.Images.Select(File.ReadAllBytes).ToArray();
        var expected = bytes.Select(b => predictor.Predict(b).Probabilities).ToArray();
        var results = new ConcurrentBag<(int Image, float[] Probabilities)>();
        Parallel.For(0, 8 * bytes.Length, new ParallelOptions { MaxDegreeOfParallelism = 8 },
            i => results.Add((i % bytes.Length, predictor.Predict(bytes[i % bytes.Length]).Probabilities)));
        Assert.HasCount(8 * bytes.Length, results);
        Assert.AreEqual(1, predictor.LargestBatch);
        foreach (var (image, probabilities) in results)
            CollectionAssert.AreEqual(expected[image], probabilities, $"image {image}");
    }

    [TestMethod]
    public void A_model_moved_into_place_is_swapped_in_with_no_failed_or_mixed_answer()
    {
        var bytes = s_models.Images.Take(6).Select(File.ReadAllBytes).ToArray();
        float[][] Expected(string model)
        {
            using var p = Predictor(model);
            return bytes.Select(b => p.Predict(b).Probabilities).ToArray();
        }
        var byVersion = new Dictionary<int, float[][]> { [1] = Expected(s_models.ModelA), [2] = Expected(s_models.ModelB) };
        for (int i = 0; i < bytes.Length; i++)
            Assert.IsGreaterThan(100 * BatchRounding, MaxDifference(byVersion[1][i], byVersion[2][i]), $"image {i}: the two models must answer far apart for the test to tell them apart");

        var path = s_models.CopyOf(s_models.ModelA);
        using var predictor = Predictor(path, watch: true);
        var answers = new ConcurrentBag<(int Image, PetsPrediction Prediction)>();
        var failures = new ConcurrentBag<Exception>();
        using var stop = new CancellationTokenSource(TimeSpan.FromSeconds(60));
        var clients = Enumerable.Range(0, 4).Select(c => Task.Run(() =>
        {
            // Bounded: stops when version 2 has answered 20 times on this client, at 2,000 requests, or after 60 s.
            int sinceSwap = 0;
            for (int i = 0; i < 2000 && sinceSwap < 20 && !stop.IsCancellationRequested; i++)
            {
                int image = (c + i) % bytes.Length;
                try
                {
                    var prediction = predictor.Predict(bytes[image]);
                    answers.Add((image, prediction));
                    if (prediction.ModelVersion == 2) sinceSwap++;
                }
                catch (Exception e) { failures.Add(e); }
            }
        })).ToArray();

        SpinWait.SpinUntil(() => answers.Count >= 8, TimeSpan.FromSeconds(30));
        // What SaveAtomically does: the whole file under a temporary name in the same folder, then one move over the old.
        var temporary = path + ".tmp";
        File.Copy(s_models.ModelB, temporary);
        File.Move(temporary, path, overwrite: true);
        var watch = Stopwatch.StartNew();
        Task.WaitAll(clients);

        Assert.IsEmpty(failures, string.Join("\n", failures.Select(f => f.Message)));
        Assert.AreEqual(2, predictor.ModelVersion, $"the new file was not picked up within {watch.Elapsed.TotalSeconds:0} s");
        var versions = answers.GroupBy(a => a.Prediction.ModelVersion).ToDictionary(g => g.Key, g => g.Count());
        Assert.IsTrue(versions.GetValueOrDefault(1) > 0 && versions.GetValueOrDefault(2) > 0, $"answers by version: {string.Join(", ", versions)}");
        foreach (var (image, prediction) in answers)
            Assert.IsTrue(MaxDifference(byVersion[prediction.ModelVersion][image], prediction.Probabilities) <= BatchRounding,
                $"image {image}: the answer is not version {prediction.ModelVersion}'s");
    }

    [TestMethod]
    public void A_swapped_out_model_is_disposed_when_its_last_request_ends_and_not_before()
    {
        using var predictor = Predictor(s_models.ModelA);
        var image = File.ReadAllBytes(s_models.Images[0]);
        var expected = predictor.Predict(image).Probabilities;
        var old = predictor.CurrentModel;
        Assert.IsTrue(old.TryAcquire(), "a request in flight on version 1");
        Assert.IsTrue(predictor.Reload());
        Assert.AreEqual(2, predictor.Predict(image).ModelVersion, "new requests start on version 2");
        CollectionAssert.AreEqual(expected, old.Score(image).Probabilities, "the request in flight still runs on version 1");

        old.Release(); // its last request ends
        using var input = TorchSharp.torch.zeros(1, 3, 32, 32);
        Assert.Throws<ObjectDisposedException>(() => old.Classifier.PredictProbabilities(input), "version 1's network is freed");
        Assert.IsFalse(old.TryAcquire(), "and no request can start on it");
        Assert.AreEqual(2, predictor.Predict(image).ModelVersion);
    }

    [TestMethod]
    public async Task Disposing_lets_the_running_batch_finish_and_fails_the_waiting_images_cleanly()
    {
        var predictor = Predictor(s_models.ModelA);
        var bytes = s_models.Images.Select(File.ReadAllBytes).ToArray();
        var expected = bytes.Select(b => predictor.Predict(b).Probabilities).ToArray();
        var requests = Enumerable.Range(0, 64).Select(i => Task.Run(() => predictor.PredictAsync(bytes[i % bytes.Length]))).ToArray();
        SpinWait.SpinUntil(() => requests.Any(r => r.IsCompleted), TimeSpan.FromSeconds(30));
        predictor.Dispose();
        var all = Task.WhenAll(requests);
        Assert.AreSame(all, await Task.WhenAny(all, Task.Delay(TimeSpan.FromSeconds(60))), "every request ends after Dispose");
        int answered = 0, refused = 0;
        for (int i = 0; i < requests.Length; i++)
        {
            if (requests[i].IsCompletedSuccessfully)
            {
                Assert.IsTrue(MaxDifference(expected[i % bytes.Length], requests[i].Result.Probabilities) <= BatchRounding, $"request {i}");
                answered++;
            }
            else
            {
                Assert.IsInstanceOfType<ObjectDisposedException>(requests[i].Exception!.GetBaseException(), $"request {i}: {requests[i].Exception}");
                refused++;
            }
        }
        Assert.IsGreaterThan(0, answered, "requests before Dispose were answered");
        Assert.Throws<ObjectDisposedException>(() => predictor.Predict(bytes[0]));
        Console.WriteLine($"{answered} answered, {refused} refused by Dispose");
    }

    [TestMethod]
    public async Task A_cancelled_request_ends_with_OperationCanceledException_and_the_predictor_keeps_answering()
    {
        using var predictor = Predictor(s_models.ModelA);
        var image = File.ReadAllBytes(s_models.Images[0]);
        using var cancelled = new CancellationTokenSource();
        cancelled.Cancel();
        await Assert.ThrowsAsync<OperationCanceledException>(() => predictor.PredictAsync(image, cancellationToken: cancelled.Token));
        Assert.AreEqual(1, predictor.Predict(image).ModelVersion);
    }

    [TestMethod]
    public void A_damaged_file_moved_into_place_keeps_the_current_model()
    {
        var path = s_models.CopyOf(s_models.ModelA);
        using var predictor = Predictor(path);
        File.WriteAllText(path + ".tmp", "not a zip");
        File.Move(path + ".tmp", path, overwrite: true);
        Assert.IsFalse(predictor.Reload());
        Assert.AreEqual(1, predictor.ModelVersion);
        Assert.AreEqual(1, predictor.Predict(File.ReadAllBytes(s_models.Images[0])).ModelVersion);
    }

    [TestMethod]
    public void Bad_images_throw_the_decoders_exception_and_the_predictor_keeps_answering()
    {
        using var predictor = Predictor(s_models.ModelA);
        var good = File.ReadAllBytes(s_models.Images[0]);
        var expected = predictor.Predict(good).Probabilities;
        Assert.AreEqual(ImageDecodeFailure.NotAnImage, Assert.Throws<ImageDecodeException>(() => predictor.Predict("hello"u8.ToArray())).Reason);
        Assert.AreEqual(ImageDecodeFailure.Corrupt, Assert.Throws<ImageDecodeException>(() => predictor.Predict(good[..(good.Length / 2)])).Reason);
        Assert.AreEqual(ImageDecodeFailure.TooLarge, Assert.Throws<ImageDecodeException>(() => predictor.Predict(BadUploads.HugePngHeader())).Reason);
        Assert.AreEqual(ImageDecodeFailure.Empty, Assert.Throws<ImageDecodeException>(() => predictor.Predict([])).Reason);
        CollectionAssert.AreEqual(expected, predictor.Predict(good).Probabilities);
    }
}
