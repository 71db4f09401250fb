using System.Net;
using System.Net.Http.Json;
using System.Text;
using System.Text.Json;
using PetsML.Host.Cli;
using PetsML.Host.Commands.Review;
using PetsML.Tests.Serving;

namespace PetsML.Tests.Host.Review;

/// <summary>
/// <c>petsml review</c>'s server without a browser, on 127.0.0.1: what it lists, the token on every request, and that
/// nothing but the listed photos can be read, moved or deleted.
/// </summary>
[TestClass]
public sealed class ReviewServerTests
{
    static ServedModels s_models = null!;

    [ClassInitialize]
    public static void TrainModel(TestContext _) => s_models = new ServedModels(both: false);

    [ClassCleanup]
    public static void DeleteModel() => s_models?.Dispose();

    static StringContent Json(object body) => new(JsonSerializer.Serialize(body), Encoding.UTF8, "application/json");

    static async Task<(HttpStatusCode Status, string Error)> ErrorOf(HttpResponseMessage response)
    {
        var text = await response.Content.ReadAsStringAsync();
        Assert.DoesNotContain("   at ", text, "no stack trace");
        using var json = JsonDocument.Parse(text);
        return (response.StatusCode, json.RootElement.GetProperty("error").GetString()!);
    }

    [TestMethod]
    public async Task The_state_lists_every_photo_with_its_loss_and_the_most_confused_pairs_of_a_model_that_learned()
    {
        Assert.IsTrue(s_models.ErrorRateA < 0.5, $"validation error {s_models.ErrorRateA} should be below chance (0.67)");
        await using var run = await ReviewServerRun.StartAsync(s_models);
        using var client = run.Client();
        var state = await client.GetFromJsonAsync<JsonElement>($"/api/state?token={run.Token}");
        var photos = state.GetProperty("photos").EnumerateArray().ToList();
        Assert.HasCount(36, photos);
        Assert.IsFalse(state.GetProperty("heatmaps").GetBoolean(), "no heatmap source: the page hides the slot");
        int right = 0;
        foreach (var p in photos)
        {
            var label = p.GetProperty("label").GetString()!;
            StringAssert.StartsWith(p.GetProperty("path").GetString(), label + "_");
            if (label == p.GetProperty("predicted").GetString()) right++;
            Assert.IsGreaterThanOrEqualTo(0.0, p.GetProperty("loss").GetDouble());
        }
        Assert.IsGreaterThan(36 / 2, right, $"{right} of 36 photos predicted right: the model should have learned the shapes");
        var confused = state.GetProperty("mostConfused").EnumerateArray().Sum(c => c.GetProperty("count").GetInt32());
        Assert.AreEqual(36 - right, confused, "every wrong prediction is in one most-confused pair");
        StringAssert.StartsWith(state.GetProperty("nextStep").GetString(), "petsml train --data '" + run.Data + "'");
    }

    [TestMethod]
    public async Task Every_request_needs_the_token_compared_whole()
    {
        await using var run = await ReviewServerRun.StartAsync(s_models);
        using var client = run.Client();
        var before = ReviewServerRun.Hashes(run.Data);
        var photo = Uri.EscapeDataString("Red_disc_1.jpg");
        var wrong = new string(run.Token.Reverse().ToArray());
        foreach (var url in new[] { "/", "/api/state", $"/photo?path={photo}", $"/heatmap?path={photo}", "/nothing-here",
                     $"/?token={wrong}", $"/?token={run.Token[..^1]}", $"/photo?path={photo}&token={run.Token.ToUpperInvariant()}", "/?token=" })
        {
            using var response = await client.GetAsync(url);
            var (status, error) = await ErrorOf(response);
            Assert.AreEqual(HttpStatusCode.Unauthorized, status, url);
            StringAssert.Contains(error, "token");
        }
        using (var apply = await client.PostAsync("/api/apply", Json(new { changes = new[] { new { path = "Red_disc_1.jpg", action = "delete" } } })))
            Assert.AreEqual(HttpStatusCode.Unauthorized, apply.StatusCode);
        using (var undo = await client.PostAsync($"/api/undo?token={wrong}", null))
            Assert.AreEqual(HttpStatusCode.Unauthorized, undo.StatusCode);
        CollectionAssert.AreEqual(before, ReviewServerRun.Hashes(run.Data), "nothing changed without the token");

        using var page = await client.GetAsync($"/?token={run.Token}");
        Assert.AreEqual(HttpStatusCode.OK, page.StatusCode);
        StringAssert.Contains(page.Headers.GetValues("Content-Security-Policy").Single(), "default-src 'none'");
        using var image = await client.GetAsync($"/photo?path={photo}&token={run.Token}");
        Assert.AreEqual(HttpStatusCode.OK, image.StatusCode);
        CollectionAssert.AreEqual(File.ReadAllBytes(Path.Combine(run.Data, "Red_disc_1.jpg")), await image.Content.ReadAsByteArrayAsync());
        using var header = new HttpRequestMessage(HttpMethod.Get, "/api/state");
        header.Headers.Add("X-Review-Token", run.Token);
        using var byHeader = await client.SendAsync(header);
        Assert.AreEqual(HttpStatusCode.OK, byHeader.StatusCode);
    }

    [TestMethod]
    public async Task Traversal_absolute_paths_links_unlisted_names_and_large_bodies_are_refused()
    {
        await using var run = await ReviewServerRun.StartAsync(s_models);
        using var client = run.Client();
        var outside = run.Temp.Combine("secret.jpg");
        File.Copy(Path.Combine(run.Data, "Red_disc_2.jpg"), outside);
        // Links made after the listing (the server must check again) and one a listed name turns into.
        File.CreateSymbolicLink(Path.Combine(run.Data, "Red_disc_99.jpg"), outside);
        Directory.CreateDirectory(run.Temp.Combine("elsewhere"));
        Directory.CreateSymbolicLink(Path.Combine(run.Data, "sub"), run.Temp.Combine("elsewhere"));
        File.Move(Path.Combine(run.Data, "Red_disc_3.jpg"), run.Temp.Combine("moved.jpg"));
        File.CreateSymbolicLink(Path.Combine(run.Data, "Red_disc_3.jpg"), outside);
        var before = ReviewServerRun.Hashes(run.Data);

        var refused = new (string Path, HttpStatusCode Status, string Reason)[]
        {
            ("../secret.jpg", HttpStatusCode.BadRequest, "'..'"),
            ("sub/../../secret.jpg", HttpStatusCode.BadRequest, "'..'"),
            (outside, HttpStatusCode.BadRequest, "absolute"),
            ("/etc/passwd", HttpStatusCode.BadRequest, "absolute"),
            (".petsml-review/journal.jsonl", HttpStatusCode.BadRequest, "hidden"),
            ("Red_disc_99.jpg", HttpStatusCode.NotFound, "not one of the photos"),
            ("sub/x.jpg", HttpStatusCode.NotFound, "not one of the photos"),
            ("notes.txt", HttpStatusCode.NotFound, "not one of the photos"),
            ("Red_disc_3.jpg", HttpStatusCode.Forbidden, "link"),
        };
        foreach (var (path, status, reason) in refused)
        {
            using var read = await client.GetAsync($"/photo?path={Uri.EscapeDataString(path)}&token={run.Token}");
            var (readStatus, readError) = await ErrorOf(read);
            Assert.AreEqual(status, readStatus, path);
            StringAssert.Contains(readError, reason, path);
            foreach (var change in new object[] { new { path, action = "delete" }, new { path, action = "relabel", label = "green_square" } })
            {
                using var apply = await client.PostAsync($"/api/apply?token={run.Token}", Json(new { changes = new[] { change } }));
                var (applyStatus, applyError) = await ErrorOf(apply);
                Assert.AreEqual(status, applyStatus, path);
                StringAssert.Contains(applyError, reason, path);
            }
        }
        // A refused change anywhere in the request: nothing of it is done.
        using (var mixed = await client.PostAsync($"/api/apply?token={run.Token}", Json(new
        {
            changes = new object[] { new { path = "Red_disc_1.jpg", action = "delete" }, new { path = "../secret.jpg", action = "delete" } },
        })))
            Assert.AreEqual(HttpStatusCode.BadRequest, mixed.StatusCode);
        var bad = new (object Body, HttpStatusCode Status, string Reason)[]
        {
            (new { changes = new[] { new { path = "Red_disc_1.jpg", action = "relabel", label = "../../x" } } }, HttpStatusCode.BadRequest, "not one of the model's classes"),
            (new { changes = new[] { new { path = "Red_disc_1.jpg", action = "chmod", label = "" } } }, HttpStatusCode.BadRequest, "not keep, relabel or delete"),
            (new { changes = new[] { new { path = "Red_disc_1.jpg", action = "delete" }, new { path = "Red_disc_1.jpg", action = "delete" } } }, HttpStatusCode.BadRequest, "twice"),
            (new { changes = Enumerable.Range(0, 50_000).Select(i => new { path = "a.jpg", action = "keep" }) }, HttpStatusCode.RequestEntityTooLarge, "larger than"),
        };
        foreach (var (body, status, reason) in bad)
        {
            HttpResponseMessage apply;
            try { apply = await client.PostAsync($"/api/apply?token={run.Token}", Json(body)); }
            catch (HttpRequestException e) when (status == HttpStatusCode.RequestEntityTooLarge && e.InnerException is IOException)
            {
                // Kestrel may answer 413 and close the connection while the client is still sending the body: a refusal too.
                continue;
            }
            using var _ = apply;
            var (applyStatus, applyError) = await ErrorOf(apply);
            Assert.AreEqual(status, applyStatus, applyError);
            StringAssert.Contains(applyError, reason);
        }
        using (var notJson = await client.PostAsync($"/api/apply?token={run.Token}", new StringContent("{\"changes\": [", Encoding.UTF8, "application/json")))
            Assert.AreEqual(HttpStatusCode.BadRequest, (await ErrorOf(notJson)).Status);
        CollectionAssert.AreEqual(before, ReviewServerRun.Hashes(run.Data), "nothing was moved, renamed or deleted");
        Assert.IsTrue(File.Exists(outside));
    }

    [TestMethod]
    public async Task A_heatmap_source_fills_the_slot_and_the_default_has_none()
    {
        var png = new byte[] { 0x89, (byte)'P', (byte)'N', (byte)'G', 1, 2, 3 };
        var asked = new List<(string, int)>();
        await using var run = await ReviewServerRun.StartAsync(s_models, new FixedHeatmaps(png, asked));
        using var client = run.Client();
        var state = await client.GetFromJsonAsync<JsonElement>($"/api/state?token={run.Token}");
        Assert.IsTrue(state.GetProperty("heatmaps").GetBoolean());
        var photo = state.GetProperty("photos")[0];
        var path = photo.GetProperty("path").GetString()!;
        using var heat = await client.GetAsync($"/heatmap?path={Uri.EscapeDataString(path)}&token={run.Token}");
        Assert.AreEqual(HttpStatusCode.OK, heat.StatusCode);
        Assert.AreEqual("image/png", heat.Content.Headers.ContentType!.MediaType);
        CollectionAssert.AreEqual(png, await heat.Content.ReadAsByteArrayAsync());
        var classes = state.GetProperty("classes").EnumerateArray().Select(c => c.GetString()).ToList();
        Assert.AreEqual((Path.Combine(run.Data, path), classes.IndexOf(photo.GetProperty("predicted").GetString())), asked.Single());

        await using var plain = await ReviewServerRun.StartAsync(s_models);
        using var plainClient = plain.Client();
        using var none = await plainClient.GetAsync($"/heatmap?path={Uri.EscapeDataString(path)}&token={plain.Token}");
        Assert.AreEqual(HttpStatusCode.NotFound, (await ErrorOf(none)).Status);
    }

    [TestMethod]
    public async Task Grad_cam_heatmaps_are_png_overlays_made_once_per_photo()
    {
        await using var run = await ReviewServerRun.StartAsync(s_models);
        var source = new GradCamHeatmaps(new Microsoft.ML.MLContext(seed: 0), run.Model.Model);
        var photo = Directory.GetFiles(run.Data, "*.jpg").Order(StringComparer.Ordinal).First();
        var first = source.HeatmapPng(photo, 0);
        Assert.IsNotNull(first);
        using (var bitmap = SkiaSharp.SKBitmap.Decode(first))
        {
            Assert.IsNotNull(bitmap, "the heatmap is a PNG");
            Assert.IsGreaterThan(0, bitmap.Width);
            Assert.AreEqual(bitmap.Width, bitmap.Height, "the overlay is the square view the network saw");
        }
        Assert.AreSame(first, source.HeatmapPng(photo, 0), "kept, not made again");
        Assert.IsNull(source.HeatmapPng(Path.Combine(run.Data, "gone.jpg"), 0), "a photo that is no longer there has none");
    }

    sealed class FixedHeatmaps(byte[] png, List<(string, int)> asked) : IHeatmapSource
    {
        public byte[]? HeatmapPng(string imagePath, int predictedClass)
        {
            asked.Add((imagePath, predictedClass));
            return png;
        }
    }

    [TestMethod]
    public async Task The_command_answers_loopback_only_and_one_review_at_a_time()
    {
        await using var run = await ReviewServerRun.StartAsync(s_models);
        foreach (var urls in new[] { "http://0.0.0.0:5000", "http://192.168.1.2:5000", "https://127.0.0.1:5001", "http://127.0.0.1:1;http://127.0.0.1:2" })
        {
            var wide = HostRunner.Run("review", "--model", s_models.ModelA, "--data", run.Data, "--urls", urls);
            Assert.AreEqual(ExitCodes.Usage, wide.ExitCode, urls + ": " + wide.Error);
            StringAssert.Contains(wide.Error, "loopback");
        }
        // The running server holds the folder's lock: a second review (here an undo) is refused, and changes nothing.
        var before = ReviewServerRun.Hashes(run.Data);
        var second = HostRunner.Run("review", "--data", run.Data, "--undo");
        Assert.AreEqual(ExitCodes.BadInput, second.ExitCode, second.Error);
        StringAssert.Contains(second.Error, "another 'petsml review'");
        CollectionAssert.AreEqual(before, ReviewServerRun.Hashes(run.Data));

        var missing = HostRunner.Run("review", "--data", run.Temp.Combine("nowhere"), "--undo");
        Assert.AreEqual(ExitCodes.BadInput, missing.ExitCode, missing.Error);
        StringAssert.Contains(missing.Error, "nowhere");
        Assert.DoesNotContain("   at ", missing.Error + second.Error, "no stack trace");
    }
}
