using System.Net;
using System.Net.Http.Json;
using System.Text.Json;
using Microsoft.AspNetCore.Builder;
using Microsoft.AspNetCore.Hosting;
using Microsoft.AspNetCore.Http.Features;
using Microsoft.AspNetCore.Hosting.Server;
using Microsoft.AspNetCore.Hosting.Server.Features;
using Microsoft.Extensions.DependencyInjection;
using Microsoft.Extensions.Logging;

namespace PetsML.Tests.Serving;

/// <summary>POST /predict on a real Kestrel server on 127.0.0.1: good images answered, bad uploads refused with JSON.</summary>
[TestClass]
public sealed class PredictEndpointTests
{
    static ServedModels s_models = null!;

    [ClassInitialize]
    public static void TrainModels(TestContext _) => s_models = new ServedModels();

    [ClassCleanup]
    public static void DeleteModels() => s_models?.Dispose();

    /// <summary>The app a user writes: two lines of PetsML. Returns the app and its address.</summary>
    internal static async Task<(WebApplication App, Uri Address)> StartAsync(string model, Action<PetsPredictionOptions>? configure = null)
    {
        var builder = WebApplication.CreateSlimBuilder();
        builder.WebHost.UseUrls("http://127.0.0.1:0");
        builder.Logging.ClearProviders();
        builder.Services.AddPetsMLPredictions(model, configure);
        var app = builder.Build();
        app.MapPetsMLPredictions();
        await app.StartAsync();
        var address = app.Services.GetRequiredService<IServer>().Features.GetRequiredFeature<IServerAddressesFeature>().Addresses.Single();
        return (app, new Uri(address));
    }

    static async Task<(HttpStatusCode Status, JsonElement Body)> Post(HttpClient client, byte[] body)
    {
        using var response = await client.PostAsync("/predict", new ByteArrayContent(body));
        return (response.StatusCode, await response.Content.ReadFromJsonAsync<JsonElement>());
    }

    [TestMethod]
    public async Task Good_images_are_answered_and_bad_uploads_get_4xx_with_a_JSON_error()
    {
        var (app, address) = await StartAsync(s_models.ModelA, o => o.WatchModelFile = false);
        await using var _ = app;
        using var client = new HttpClient { BaseAddress = address, Timeout = TimeSpan.FromSeconds(60) };
        Assert.AreEqual("127.0.0.1", address.Host);
        var good = File.ReadAllBytes(s_models.Images[0]);
        var expected = app.Services.GetRequiredService<PetsPredictor>().Predict(good);

        var (status, body) = await Post(client, good);
        Assert.AreEqual(HttpStatusCode.OK, status, body.ToString());
        Assert.AreEqual(expected.Label, body.GetProperty("label").GetString());
        Assert.AreEqual(expected.Probability, body.GetProperty("probability").GetSingle());
        Assert.AreEqual(3, body.GetProperty("top").GetArrayLength());
        Assert.AreEqual(expected.IsUnknown, body.GetProperty("isUnknown").GetBoolean());
        Assert.AreEqual(expected.OutlierScore, body.GetProperty("outlierScore").GetSingle());

        var bad = new (string What, byte[] Body, HttpStatusCode Status, string Reason, string Says)[]
        {
            ("text", "hello, I am not a photo"u8.ToArray(), HttpStatusCode.BadRequest, "NotAnImage", "not an image"),
            ("truncated JPEG", good[..(good.Length / 2)], HttpStatusCode.BadRequest, "Corrupt", "truncated or corrupt JPEG"),
            ("empty", [], HttpStatusCode.BadRequest, "Empty", "zero-byte"),
            ("20,000 x 20,000 PNG header", BadUploads.HugePngHeader(), HttpStatusCode.RequestEntityTooLarge, "TooLarge", "400000000 pixels"),
            ("11 MiB", new byte[11 << 20], HttpStatusCode.RequestEntityTooLarge, "TooLarge", "exceeds the limit of 10485760 bytes"),
        };
        foreach (var (what, upload, expectedStatus, reason, says) in bad)
        {
            (status, body) = await Post(client, upload);
            Assert.AreEqual(expectedStatus, status, $"{what}: {body}");
            Assert.AreEqual(reason, body.GetProperty("reason").GetString(), what);
            StringAssert.Contains(body.GetProperty("error").GetString(), says, what);
            Assert.DoesNotContain(" at ", body.GetProperty("error").GetString()!, $"{what}: no stack trace");
        }

        using (var response = await client.PostAsync("/predict?top=zero", new ByteArrayContent(good)))
            Assert.AreEqual(HttpStatusCode.BadRequest, response.StatusCode);
        (status, body) = await Post(client, good);
        Assert.AreEqual(HttpStatusCode.OK, status, "the service still answers good requests");
        Assert.AreEqual(expected.Probability, body.GetProperty("probability").GetSingle());
    }

    [TestMethod]
    public async Task Concurrent_requests_over_HTTP_all_succeed_with_the_same_answers_in_shared_passes()
    {
        var (app, address) = await StartAsync(s_models.ModelA, o => o.WatchModelFile = false);
        await using var _ = app;
        using var client = new HttpClient { BaseAddress = address, Timeout = TimeSpan.FromSeconds(60) };
        var predictor = app.Services.GetRequiredService<PetsPredictor>();
        var images = s_models.Images.Take(6).Select(File.ReadAllBytes).ToArray();
        var expected = images.Select(i => predictor.Predict(i).Probability).ToArray();
        var answers = await Task.WhenAll(Enumerable.Range(0, 24).Select(async i =>
        {
            var (status, body) = await Post(client, images[i % images.Length]);
            Assert.AreEqual(HttpStatusCode.OK, status, body.ToString());
            return (i % images.Length, body.GetProperty("probability").GetSingle());
        }));
        // Concurrent requests share forward passes, whose batch size moves the last bits (PetsPredictorTests).
        foreach (var (image, probability) in answers) Assert.AreEqual(expected[image], probability, 1e-5f, $"image {image}");
        Assert.IsGreaterThan(1, predictor.LargestBatch, "24 concurrent requests should have shared forward passes");
    }

    [TestMethod]
    public async Task A_full_queue_answers_503_with_a_JSON_reason_and_the_next_request_is_served()
    {
        var (app, address) = await StartAsync(s_models.ModelA, o => { o.WatchModelFile = false; o.MaxConcurrentPredictions = 1; o.MaxQueuedRequests = 0; });
        await using var _ = app;
        using var client = new HttpClient { BaseAddress = address, Timeout = TimeSpan.FromSeconds(60) };
        var predictor = app.Services.GetRequiredService<PetsPredictor>();
        var good = File.ReadAllBytes(s_models.Images[0]);
        Assert.IsTrue(predictor.TryEnterRequest(), "a request in flight fills the one slot");
        try
        {
            using var response = await client.PostAsync("/predict", new ByteArrayContent(good));
            var body = await response.Content.ReadFromJsonAsync<JsonElement>();
            Assert.AreEqual(HttpStatusCode.ServiceUnavailable, response.StatusCode, body.ToString());
            Assert.AreEqual("Busy", body.GetProperty("reason").GetString());
            Assert.AreEqual("1", response.Headers.RetryAfter?.ToString());
        }
        finally { predictor.ExitRequest(); }
        var (status, answer) = await Post(client, good);
        Assert.AreEqual(HttpStatusCode.OK, status, answer.ToString());
    }
}
