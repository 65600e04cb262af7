// Refuse oversized files before uploading them (the server refuses them too, with 413).
document.querySelectorAll("form[data-max-upload]").forEach(function (form) {
  form.addEventListener("submit", function (event) {
    var max = Number(form.dataset.maxUpload), total = 0;
    form.querySelectorAll("input[type=file]").forEach(function (input) {
      Array.prototype.forEach.call(input.files, function (f) { total += f.size; });
    });
    var box = form.querySelector(".size-error");
    if (total > max) {
      event.preventDefault();
      box.textContent = "Tệp quá lớn: tổng dung lượng tối đa " + Math.floor(max / 1048576) + " MB.";
      box.hidden = false;
    }
  });
});
