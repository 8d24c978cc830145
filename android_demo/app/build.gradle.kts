plugins {
    alias(libs.plugins.android.application)
}

android {
    namespace = "org.bertedge.demo"
    compileSdk = 35

    defaultConfig {
        applicationId = "org.bertedge.demo"
        minSdk = 24
        targetSdk = 35
        versionCode = 1
        versionName = "0.1.0"
        testInstrumentationRunner = "androidx.test.runner.AndroidJUnitRunner"
        ndk {
            // phones (arm64 / 32-bit arm) and the x86_64 emulator; both runtimes ship these
            abiFilters += listOf("arm64-v8a", "armeabi-v7a", "x86_64")
        }
    }

    buildTypes {
        release {
            isMinifyEnabled = false
            proguardFiles(getDefaultProguardFile("proguard-android-optimize.txt"), "proguard-rules.pro")
        }
    }

    compileOptions {
        sourceCompatibility = JavaVersion.VERSION_17
        targetCompatibility = JavaVersion.VERSION_17
    }

    androidResources {
        // Models are memory-mapped (TFLite) or copied (PyTorch) straight from the APK:
        // they must be stored uncompressed.
        noCompress += listOf("tflite", "ptl", "pte")
    }

    packaging {
        jniLibs {
            // pytorch_android_lite and fbjni both bring these; keep one copy
            pickFirsts += listOf("**/libc++_shared.so", "**/libfbjni.so")
        }
        resources {
            excludes += listOf("/META-INF/{AL2.0,LGPL2.1}")
        }
    }
}

dependencies {
    implementation(project(":core"))
    implementation(libs.litert)
    implementation(libs.pytorch.android.lite)
    // ExecuTorch runtime with the XNNPACK delegate and the quantized kernels (int8 embeddings).
    implementation(libs.executorch.android)
    implementation(libs.mediapipe.tasks.text)
    implementation(libs.androidx.appcompat)
    implementation(libs.material)
    implementation(libs.androidx.lifecycle.viewmodel)
    implementation(libs.androidx.lifecycle.livedata)

    androidTestImplementation(libs.junit)
    androidTestImplementation(libs.androidx.test.ext.junit)
    androidTestImplementation(libs.androidx.test.runner)
}

// The bundle (models, vocab, manifest, golden cases) is written into src/main/assets by
// `bert-edge bundle`; Gradle never downloads models. Without it the APK still builds and the
// app explains what is missing, so only warn here.
val checkBundle by tasks.registering {
    val manifest = layout.projectDirectory.file("src/main/assets/manifest.json").asFile
    doLast {
        if (!manifest.isFile) {
            logger.warn(
                "warning: ${manifest.path} not found: the APK will have no model bundle. " +
                    "Run `bert-edge bundle` (or `make demo`) in the repository root first."
            )
        }
    }
}
tasks.named("preBuild") { dependsOn(checkBundle) }
