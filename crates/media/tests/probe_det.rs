use iprod_media::onnx::OnnxRuntime;
use std::path::Path;
#[test]
fn probe() {
    let rt = OnnxRuntime::new(Path::new(env!("CARGO_MANIFEST_DIR")).join("../../.iprod/model-pack"), 2);
    for n in std::env::var("CASES").unwrap().split(',') {
        let mut img = image::open(format!("/tmp/dump/{n}.in.png")).unwrap().to_rgb8();
        let r = iprod_media::image::delogo::clean(&rt, &mut img, &[]).unwrap();
        img.save(format!("/tmp/{n}.now.png")).unwrap();
        println!("{n}: {r}");
    }
}
