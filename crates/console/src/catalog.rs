//! `/console/catalog.json`: what the submit form offers, built from the tables the API
//! validates with (functions, their `JobParams` specs, the models, the output placeholders).

use iprod_core::FunctionName;
use iprod_core::catalog::MODELS;
use iprod_core::function::MediaKind;
use iprod_core::params::schema;
use serde_json::{Value, json};

/// A sensible output key for a first try, under `out/` (the form puts the bucket in front).
fn default_output(function: FunctionName) -> &'static str {
    match function {
        FunctionName::VideoH2V => "out/{source}-vertical.mp4",
        FunctionName::VideoDelogo => "out/{source}-clean.mp4",
        FunctionName::Cover => "out/{source}-cover-{sequenceId}.jpg",
        FunctionName::VideoClip => "out/{source}-summary.mp4",
        FunctionName::ImageMatting => "out/{source}-cutout.png",
        FunctionName::ImageH2V => "out/{source}-vertical.jpg",
        FunctionName::ImageDelogo => "out/{source}-clean.png",
    }
}

pub fn catalog() -> Value {
    let functions: Vec<Value> = FunctionName::ALL
        .iter()
        .map(|&f| {
            let models: Vec<Value> = MODELS
                .iter()
                .filter(|m| m.functions.contains(&f))
                .map(|m| json!({"Id": m.id, "Description": m.description}))
                .collect();
            json!({
                "Name": f.as_str(),
                "Input": match f.input_kind() { MediaKind::Video => "video", MediaKind::Image => "image" },
                "DefaultOutput": default_output(f),
                "Params": schema::specs(f),
                "Models": models,
            })
        })
        .collect();
    json!({"Functions": functions, "Placeholders": iprod_core::template::PLACEHOLDERS})
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn every_function_has_its_params_and_default_model_listed() {
        let c = catalog();
        let functions = c["Functions"].as_array().unwrap();
        assert_eq!(functions.len(), 7);
        let clip = functions.iter().find(|f| f["Name"] == "VideoClip").unwrap();
        let keys: Vec<&str> =
            clip["Params"].as_array().unwrap().iter().map(|p| p["Key"].as_str().unwrap()).collect();
        assert_eq!(keys, ["Duration", "MaxSegments", "MinSegmentDuration"]);
        assert_eq!(clip["Params"][1]["Type"], "Integer");
        assert_eq!(clip["Params"][1]["Max"], 20);
        assert_eq!(clip["Models"][0]["Id"], "shots");
        assert_eq!(c["Placeholders"][0], "{source}");
    }
}
