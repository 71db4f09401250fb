using System.Security.Cryptography;
using Microsoft.AspNetCore.Builder;
using Microsoft.AspNetCore.Hosting.Server;
using Microsoft.AspNetCore.Hosting.Server.Features;
using Microsoft.AspNetCore.Http.Features;
using Microsoft.Extensions.DependencyInjection;
using Microsoft.ML;
using PetsML.Host.Commands.Review;
using PetsML.Host.Commands.Shared;
using PetsML.Tests.Serving;
using PetsML.Tests.Support;

namespace PetsML.Tests.Host.Review;

/// <summary>
/// A review server started in this process on a free port of 127.0.0.1 over a fresh copy of the served models' photos
/// (36 shape images named like Red_disc_3.jpg), scored by the tiny model trained once for the class.
/// </summary>
internal sealed class ReviewServerRun : IAsyncDisposable
{
    public required TempFolder Temp { get; init; }
    public required string Data { get; init; }
    public required WebApplication App { get; init; }
    public required ReviewSession Session { get; init; }
    public required SavedModel Model { get; init; }
    public required string Token { get; init; }
    public required Uri Address { get; init; }

    /// <summary>The page's address with the token, as petsml review prints it.</summary>
    public string PageUrl => $"{Address.GetLeftPart(UriPartial.Authority)}/?token={Token}";

    public static async Task<ReviewServerRun> StartAsync(ServedModels models, IHeatmapSource? heatmaps = null)
    {
        var temp = new TempFolder("petsml-review");
        var data = temp.Combine("photos");
        CopyFolder(models.Folder.Combine("images"), data);
        var ml = new MLContext(seed: 0);
        var saved = SavedModel.Load(ml, models.ModelA);
        saved.Classifier.InferencePrecision = ComputeFlags.Precision("fp32");
        var root = Path.GetFullPath(data);
        var session = ReviewSession.Score(ml, saved.Model, saved.ClassNames, root, PhotoLabels.FromFileNames(PetsML.Transforms.Labeling.RegexLabeler.OxfordPetsPattern),
            ReviewJournal.Open(root));
        var token = ReviewServer.NewToken();
        var app = ReviewServer.Build(session, "http://127.0.0.1:0", token, heatmaps ?? NoHeatmaps.Instance, log: null);
        await app.StartAsync();
        var address = new Uri(app.Services.GetRequiredService<IServer>().Features.GetRequiredFeature<IServerAddressesFeature>().Addresses.Single());
        return new ReviewServerRun { Temp = temp, Data = root, App = app, Session = session, Model = saved, Token = token, Address = address };
    }

    public HttpClient Client() => new() { BaseAddress = Address, Timeout = TimeSpan.FromSeconds(60) };

    public async ValueTask DisposeAsync()
    {
        await App.StopAsync();
        await App.DisposeAsync();
        Session.Dispose();
        Model.Dispose();
        Temp.Dispose();
    }

    public static void CopyFolder(string from, string to)
    {
        Directory.CreateDirectory(to);
        foreach (var file in Directory.GetFiles(from)) File.Copy(file, Path.Combine(to, Path.GetFileName(file)));
    }

    /// <summary>SHA-256 of every file under <paramref name="folder"/> (links not followed) by relative path, except the review's journal folder.</summary>
    public static SortedDictionary<string, string> Hashes(string folder)
    {
        var hashes = new SortedDictionary<string, string>(StringComparer.Ordinal);
        foreach (var file in Directory.EnumerateFiles(folder, "*", new EnumerationOptions { RecurseSubdirectories = true, AttributesToSkip = 0 }))
        {
            var relative = Path.GetRelativePath(folder, file).Replace('\\', '/');
            if (relative.StartsWith(ReviewJournal.FolderName + "/", StringComparison.Ordinal)) continue;
            hashes[relative] = Convert.ToHexString(SHA256.HashData(File.ReadAllBytes(file)));
        }
        return hashes;
    }
}
