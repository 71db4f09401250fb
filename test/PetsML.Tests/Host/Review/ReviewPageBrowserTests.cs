using Microsoft.Playwright;
using PetsML.Host.Commands.Review;
using PetsML.Tests.Serving;
using PetsML.Tests.Support;

namespace PetsML.Tests.Host.Review;

/// <summary>The review page in headless Chromium: open, sort, relabel one photo, delete one, apply, reload, undo.</summary>
[TestClass]
public sealed class ReviewPageBrowserTests
{
    static ServedModels s_models = null!;

    [ClassInitialize]
    public static void TrainModel(TestContext _) => s_models = new ServedModels(both: false);

    [ClassCleanup]
    public static void DeleteModel() => s_models?.Dispose();

    static async Task<List<(string Path, double Loss)>> Cards(IPage page, string className)
    {
        var cards = await page.EvalOnSelectorAllAsync<string[][]>($"section[data-class='{className}'] .card",
            "cards => cards.map(c => [c.dataset.path, c.dataset.loss])");
        return cards.Select(c => (c[0], double.Parse(c[1], System.Globalization.CultureInfo.InvariantCulture))).ToList();
    }

    [TestMethod]
    [TestCategory("Browser")]
    public async Task The_page_relabels_and_deletes_applies_shows_it_after_a_reload_and_undo_restores_every_byte()
    {
        var chromium = Chromium.PathOrEnd(nameof(The_page_relabels_and_deletes_applies_shows_it_after_a_reload_and_undo_restores_every_byte));
        await using var run = await ReviewServerRun.StartAsync(s_models);
        var original = ReviewServerRun.Hashes(run.Data);

        using var playwright = await Playwright.CreateAsync();
        await using var browser = await playwright.Chromium.LaunchAsync(new BrowserTypeLaunchOptions
        {
            ExecutablePath = chromium, Headless = true, Args = ["--no-sandbox", "--disable-gpu"], Timeout = 60_000,
        });
        var page = await browser.NewPageAsync();
        page.SetDefaultTimeout(60_000);
        await page.GotoAsync(run.PageUrl);
        await page.WaitForFunctionAsync("() => document.getElementById('status').textContent.startsWith('Loaded')");
        Assert.AreEqual(36, await page.Locator(".card").CountAsync());
        Assert.IsFalse(await page.Locator("img.heat").IsVisibleAsync(), "no heatmap source: no visible slot");

        // Sort by name, then by loss: top losses first in every class.
        await page.SelectOptionAsync("#sort", "name");
        var byName = await Cards(page, "Red_disc");
        CollectionAssert.AreEqual(byName.Select(c => c.Path).Order(StringComparer.Ordinal).ToList(), byName.Select(c => c.Path).ToList());
        await page.SelectOptionAsync("#sort", "loss");
        foreach (var className in TestImages.ShapeClasses)
        {
            var losses = (await Cards(page, className)).Select(c => c.Loss).ToList();
            Assert.HasCount(12, losses, className);
            CollectionAssert.AreEqual(losses.OrderByDescending(l => l).ToList(), losses, $"{className}: top losses first");
        }

        // Relabel the top loss of Red_disc as green_square, delete the top loss of blue_triangle.
        var relabeled = (await Cards(page, "Red_disc"))[0].Path;
        var deleted = (await Cards(page, "blue_triangle"))[0].Path;
        await page.SelectOptionAsync($".card[data-path='{relabeled}'] select", "relabel:green_square");
        await page.SelectOptionAsync($".card[data-path='{deleted}'] select", "delete");
        await page.ClickAsync("#apply");
        await page.WaitForFunctionAsync("() => document.getElementById('status').textContent.startsWith('Applied')");
        Assert.AreEqual("", await page.TextContentAsync("#error"));
        Assert.IsFalse(File.Exists(Path.Combine(run.Data, relabeled)));
        var renamed = Directory.GetFiles(run.Data, "green_square_*.jpg").Select(Path.GetFileName).Except(original.Keys).Single()!;
        Assert.AreEqual(original[relabeled], ReviewServerRun.Hashes(run.Data)[renamed], "the relabeled photo is the same bytes under a green_square name");
        Assert.IsTrue(File.Exists(Path.Combine(run.Data, ReviewJournal.TrashFolderName, "1", deleted)), "deleted photos go to the trash folder");
        StringAssert.StartsWith(await page.TextContentAsync("#command"), "petsml train --data '" + run.Data + "'");

        // A reload shows the folder as it now is.
        await page.ReloadAsync();
        await page.WaitForFunctionAsync("() => document.getElementById('status').textContent.startsWith('Loaded')");
        Assert.AreEqual(35, await page.Locator(".card").CountAsync());
        Assert.AreEqual(13, await page.Locator($"section[data-class='green_square'] .card").CountAsync());
        Assert.AreEqual(1, await page.Locator($"section[data-class='green_square'] .card[data-path='{renamed}']").CountAsync());
        Assert.AreEqual(0, await page.Locator($".card[data-path='{relabeled}']").CountAsync());
        Assert.AreEqual(0, await page.Locator($".card[data-path='{deleted}']").CountAsync());

        // Undo: the folder is as it was, byte for byte, and so is the page.
        await page.ClickAsync("#undo");
        await page.WaitForFunctionAsync("() => document.getElementById('status').textContent.startsWith('Undone')");
        CollectionAssert.AreEqual(original, ReviewServerRun.Hashes(run.Data));
        Assert.IsFalse(Directory.Exists(Path.Combine(run.Data, ReviewJournal.TrashFolderName)), "undo removes the trash folders it made");
        Assert.AreEqual(36, await page.Locator(".card").CountAsync());
        Assert.AreEqual(1, await page.Locator($"section[data-class='Red_disc'] .card[data-path='{relabeled}']").CountAsync());
        Assert.IsTrue(await page.Locator("#undo").IsDisabledAsync(), "nothing left to undo");
    }
}
