namespace PetsML.Tests.Support;

/// <summary>
/// The headless browser of the tests in category "Browser": Debian's chromium (test/scripts/install-chromium.sh
/// installs it). Missing, a test is inconclusive on a developer's machine but fails under CI=true, so CI never passes
/// without having run them. Each browser test that finds it is written down in the file PETSML_BROWSER_TESTS_LOG names,
/// when set, so .ci/run can say how many ran.
/// </summary>
public static class Chromium
{
    /// <summary>The browser's executable; ends the test (inconclusive, or failed under CI=true) when there is none.</summary>
    public static string PathOrEnd(string testName)
    {
        var chromium = new[] { "chromium", "chromium-browser", "google-chrome" }
            .Select(n => (Environment.GetEnvironmentVariable("PATH") ?? "").Split(':').Select(d => Path.Combine(d, n)).FirstOrDefault(File.Exists))
            .FirstOrDefault(p => p is not null);
        if (chromium is null)
        {
            const string why = "chromium is not installed (test/scripts/install-chromium.sh installs it).";
            if (Environment.GetEnvironmentVariable("CI") is "true" or "1") Assert.Fail(why + " Under CI=true the browser tests must run.");
            Assert.Inconclusive(why);
        }
        if (Environment.GetEnvironmentVariable("PETSML_BROWSER_TESTS_LOG") is { Length: > 0 } log)
            File.AppendAllLines(log, [testName]);
        return chromium!;
    }
}
