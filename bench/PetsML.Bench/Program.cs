if (args.Length > 0 && args[0] == "augment")
    return PetsML.Bench.AugmentBenchmark.Run(args[1..]);
return 0;
