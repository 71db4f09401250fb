using System.Net;
using System.Net.Http.Json;
using System.Text.Json;
using Microsoft.AspNetCore.Builder;
using Microsoft.AspNetCore.Hosting.Server;
using Microsoft.AspNetCore.Hosting.Server.Features;
using Microsoft.AspNetCore.Http.Features;
using Microsoft.Extensions.DependencyInjection;
using Microsoft.Playwright;
using PetsML.Host.Commands.Serve;
using PetsML.Tests.Support;

namespace PetsML.Tests.Serving;

/// <summary><c>petsml serve</c>'s app on a free port of 127.0.0.1: health, the endpoint, and the page in headless Chromium.</summary>
[TestClass]
public sealed class ServeCommandTests
{
    static ServedModels s_models = null!;

    [ClassInitialize]
    public static void TrainModel(TestContext _) => s_models = new ServedModels(both: false);

    [ClassCleanup]
    public static void DeleteModel() => s_models?.Dispose();

    static async Task<(WebApplication App, Uri Address)> StartAsync()
    {
        var app = ServeCommand.Build(new ServeCommand.Settings { Model = s_models.ModelA, Urls = "http://127.0.0.1:0", Precision = "fp32" }, logToConsole: false);
        await app.StartAsync();
        var address = app.Services.GetRequiredService<IServer>().Features.GetRequiredFeature<IServerAddressesFeature>().Addresses.Single();
        return (app, new Uri(address));
    }

    [TestMethod]
    public async Task Serve_answers_health_predict_and_the_page()
    {
        var (app, address) = await StartAsync();
        await using var _ = app;
        using var client = new HttpClient { BaseAddress = address, Timeout = TimeSpan.FromSeconds(60) };
        var health = await client.GetFromJsonAsync<JsonElement>("/health");
        Assert.AreEqual("ok", health.GetProperty("status").GetString());
        CollectionAssert.AreEquivalent(TestImages.ShapeClasses, health.GetProperty("classes").EnumerateArray().Select(c => c.GetString()).ToArray());

        using var page = await client.GetAsync("/");
        Assert.AreEqual(HttpStatusCode.OK, page.StatusCode);
        StringAssert.Contains(await page.Content.ReadAsStringAsync(), "Drop a photo here");
        StringAssert.Contains(page.Headers.GetValues("Content-Security-Policy").Single(), "default-src 'none'");

        using var predicted = await client.PostAsync("/predict?top=2", new ByteArrayContent(File.ReadAllBytes(s_models.Images[0])));
        var body = await predicted.Content.ReadFromJsonAsync<JsonElement>();
        Assert.AreEqual(HttpStatusCode.OK, predicted.StatusCode, body.ToString());
        Assert.AreEqual(2, body.GetProperty("top").GetArrayLength());
    }

    [TestMethod]
    public void Serve_refuses_a_missing_model_a_zip_that_is_not_a_model_and_a_non_http_address()
    {
        using var temp = new TempFolder();
        var missing = Host.HostRunner.Run("serve", "--model", temp.Combine("missing.zip"));
        Assert.AreEqual(PetsML.Host.Cli.ExitCodes.BadInput, missing.ExitCode, missing.Error);
        StringAssert.Contains(missing.Error, "missing.zip");

        var other = temp.Combine("other.zip");
        using (var zip = System.IO.Compression.ZipFile.Open(other, System.IO.Compression.ZipArchiveMode.Create))
        using (var writer = new StreamWriter(zip.CreateEntry("readme.txt").Open())) writer.Write("not a model");
        var notModel = Host.HostRunner.Run("serve", "--model", other);
        Assert.AreEqual(PetsML.Host.Cli.ExitCodes.BadInput, notModel.ExitCode, notModel.Error);
        StringAssert.Contains(notModel.Error, "other.zip");
        Assert.DoesNotContain("   at ", notModel.Error, "no stack trace");

        var https = Host.HostRunner.Run("serve", "--model", s_models.ModelA, "--urls", "https://127.0.0.1:5001");
        Assert.AreEqual(PetsML.Host.Cli.ExitCodes.Usage, https.ExitCode, https.Error);
        StringAssert.Contains(https.Error, "reverse proxy");
    }

    [TestMethod]
    [TestCategory("Browser")]
    public async Task The_page_shows_the_answer_for_a_chosen_or_dropped_photo_in_headless_Chromium()
    {
        var chromium = Chromium.PathOrEnd(nameof(The_page_shows_the_answer_for_a_chosen_or_dropped_photo_in_headless_Chromium));
        var (app, address) = await StartAsync();
        await using var _ = app;
        var photo = s_models.Images[0];
        var expected = app.Services.GetRequiredService<PetsPredictor>().Predict(File.ReadAllBytes(photo));

        using var playwright = await Playwright.CreateAsync();
        await using var browser = await playwright.Chromium.LaunchAsync(new BrowserTypeLaunchOptions
        {
            ExecutablePath = chromium, Headless = true, Args = ["--no-sandbox", "--disable-gpu"], Timeout = 60_000,
        });
        var page = await browser.NewPageAsync();
        page.SetDefaultTimeout(60_000);
        await page.GotoAsync(address.AbsoluteUri);

        // Choosing a file.
        await page.SetInputFilesAsync("#file", photo);
        await page.WaitForFunctionAsync("() => document.getElementById('answer').textContent.includes('%')");
        StringAssert.StartsWith(await page.TextContentAsync("#answer"), expected.Label + " (");
        Assert.AreEqual(3, await page.Locator("#top li").CountAsync());

        // Dropping a file that is not a photo: the page shows the server's reason.
        await page.EvaluateAsync("""
            () => {
              const transfer = new DataTransfer();
              transfer.items.add(new File(['just some text'], 'notes.jpg', { type: 'image/jpeg' }));
              document.getElementById('drop').dispatchEvent(new DragEvent('drop', { dataTransfer: transfer, bubbles: true, cancelable: true }));
            }
            """);
        await page.WaitForFunctionAsync("() => document.getElementById('error').textContent.length > 0");
        StringAssert.Contains(await page.TextContentAsync("#error"), "not an image");
        Assert.AreEqual("", await page.TextContentAsync("#answer"));

        // Dropping the photo again.
        var base64 = Convert.ToBase64String(File.ReadAllBytes(photo));
        await page.EvaluateAsync("""
            b64 => {
              const bytes = Uint8Array.from(atob(b64), c => c.charCodeAt(0));
              const transfer = new DataTransfer();
              transfer.items.add(new File([bytes], 'pet.jpg', { type: 'image/jpeg' }));
              document.getElementById('drop').dispatchEvent(new DragEvent('drop', { dataTransfer: transfer, bubbles: true, cancelable: true }));
            }
            """, base64);
        await page.WaitForFunctionAsync("() => document.getElementById('answer').textContent.includes('%')");
        StringAssert.StartsWith(await page.TextContentAsync("#answer"), expected.Label + " (");
        Assert.AreEqual("", await page.TextContentAsync("#error"));
    }
}
