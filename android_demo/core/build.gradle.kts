// The Android-free core: tokenizer, encoder, bundle parsing, parity, latency statistics.
// No android.* imports; the JVM tests run here and in `make test` (android_demo/host-tests.sh).
plugins {
    `java-library`
}

java {
    sourceCompatibility = JavaVersion.VERSION_17
    targetCompatibility = JavaVersion.VERSION_17
}

tasks.withType<JavaCompile>().configureEach {
    options.encoding = "UTF-8"
    options.compilerArgs.addAll(listOf("-Xlint:all,-serial"))
}

dependencies {
    testImplementation(libs.junit)
}

tasks.test {
    // Exact-id golden vectors from the HF fast tokenizer; host-tests.sh writes them here
    // (the test FAILS without them: run `make test` or android_demo/host-tests.sh first).
    val golden = rootDir.resolve("../build/android-host-tests/tokenizer-golden").normalize()
    systemProperty("bertedge.tokenizerGolden", golden.absolutePath)
    jvmArgs("-Xss8m")
}
